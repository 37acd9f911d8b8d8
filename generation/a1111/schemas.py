"""The A1111 request bodies as the OpenAPI schema states them.

A1111 bodies carry many optional fields (generation.a1111.parsing reads them by name); these
schemas list what a valid call needs, so clients and the fuzzing pass (bin/fuzz-api) know it. The
pictures are base64 text that no schema can make decodable: a picture that is not one is a 400.
"""

from __future__ import annotations

from generation.retouch import edges

PICTURE = {"type": "string", "minLength": 1, "description": "A picture, base64 (a `data:image/…;base64,` prefix is allowed)"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}

IMG2IMG = {
    "type": "object",
    "required": ["init_images"],
    "properties": {
        "init_images": {"type": "array", "items": PICTURE, "minItems": 1, "maxItems": 1},
        "mask": PICTURE,
        "prompt": {"type": "string"},
        "negative_prompt": {"type": "string"},
        "steps": {"type": "integer", "minimum": 1, "maximum": 150},
        "cfg_scale": NUMBER,
        "denoising_strength": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": INTEGER,
        "width": INTEGER,
        "height": INTEGER,
        "batch_size": INTEGER,
        "n_iter": INTEGER,
        "mask_blur": NUMBER,
        "inpainting_fill": {"type": "integer", "enum": [0, 1, 2, 3]},
        "inpaint_full_res": {"type": "boolean"},
        "inpaint_full_res_padding": INTEGER,
        "inpainting_mask_invert": {"type": "integer", "enum": [0, 1]},
        "initial_noise_multiplier": NUMBER,
        "sampler_name": {"type": "string"},
        "alwayson_scripts": {"type": "object", "description": "ControlNet units: lineart, canny and reference"},
    },
}
DETECT = {
    "type": "object",
    "required": ["controlnet_module", "controlnet_input_images"],
    "properties": {
        "controlnet_module": {"type": "string", "enum": list(edges.MODULE_ALIASES)},
        "controlnet_input_images": {"type": "array", "items": PICTURE, "minItems": 1},
        "controlnet_processor_res": {"type": "integer", "minimum": 64, "maximum": 4096},
        "controlnet_threshold_a": NUMBER,
        "controlnet_threshold_b": NUMBER,
    },
}
INTERROGATE = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": PICTURE,
        "model": {"type": "string", "description": "Ignored: the configured tagger answers"},
        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
    },
}
