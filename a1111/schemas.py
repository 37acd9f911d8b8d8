"""The A1111 request bodies as the OpenAPI schema states them.

A1111 bodies carry many optional fields (a1111.parsing reads them by name); these
schemas list what a valid call needs, so clients and the fuzzing pass (bin/fuzz-api) know it. The
pictures are base64 text that no schema can make decodable: a picture that is not one is a 400.
"""

from __future__ import annotations

from retouch import edges

PICTURE = {"type": "string", "minLength": 1, "description": "A picture, base64 (a `data:image/…;base64,` prefix is allowed)"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
# A1111 answers some calls with a JSON null (set_config, refresh-*).
NULL_BODY = {"type": "object", "nullable": True, "description": "null, as A1111 answers"}

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
        "width": {"type": "integer", "minimum": 8, "maximum": 8192},
        "height": {"type": "integer", "minimum": 8, "maximum": 8192},
        "batch_size": INTEGER,
        "n_iter": INTEGER,
        "mask_blur": NUMBER,
        "mask_blur_x": {"type": "number", "description": "Honoured when equal to mask_blur_y"},
        "mask_blur_y": {"type": "number", "description": "Honoured when equal to mask_blur_x"},
        "resize_mode": {"type": "integer", "enum": [0, 1, 2, 3], "description": "0 resize, 1 crop and resize, 2 resize and fill, 3 as 0"},
        "inpainting_fill": {"type": "integer", "enum": [0, 1, 2, 3]},
        "inpaint_full_res": {"oneOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}], "description": "0/1 too"},
        "inpaint_full_res_padding": INTEGER,
        "inpainting_mask_invert": {"type": "integer", "enum": [0, 1]},
        "initial_noise_multiplier": NUMBER,
        "sampler_name": {"type": "string"},
        "scheduler": {"type": "string", "description": "Automatic, or Karras with DPM++ 2M"},
        "styles": {"type": "array", "items": {"type": "string"}, "description": "Names from GET /sdapi/v1/prompt-styles"},
        "override_settings": {
            "type": "object",
            "properties": {
                "sd_model_checkpoint": {"type": "string", "description": "The retouch (inpainting) model or the default"},
                "CLIP_stop_at_last_layers": {"type": "integer", "minimum": 1, "maximum": 12},
            },
        },
        "send_images": {"type": "boolean"},
        "save_images": {"type": "boolean", "description": "Ignored: results are always stored in the pool"},
        "alwayson_scripts": {"type": "object", "description": "ControlNet units: lineart, canny and reference"},
    },
}
DETECT = {
    "type": "object",
    "required": ["controlnet_module"],
    "description": "The pictures go in controlnet_input_images (the extension's name) or controlnet_images (webuiapi's)",
    "properties": {
        "controlnet_module": {"type": "string", "enum": list(edges.MODULE_ALIASES)},
        "controlnet_input_images": {"type": "array", "items": PICTURE, "minItems": 1},
        "controlnet_images": {"type": "array", "items": PICTURE, "minItems": 1},
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
TXT2IMG = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "description": "<lora:name:weight> tags are read from it"},
        "negative_prompt": {"type": "string"},
        "styles": {"type": "array", "items": {"type": "string"}, "description": "Names from GET /sdapi/v1/prompt-styles"},
        "seed": {"type": "integer", "description": "-1: random"},
        "subseed": {"type": "integer", "description": "-1: random"},
        "subseed_strength": {"type": "number", "minimum": 0, "maximum": 1},
        "sampler_name": {"type": "string", "description": "GET /sdapi/v1/samplers"},
        "scheduler": {"type": "string", "description": "Automatic, or Karras with DPM++ 2M"},
        "steps": {"type": "integer", "minimum": 1, "maximum": 150},
        "cfg_scale": {"type": "number", "minimum": 0, "maximum": 30},
        "width": {"type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8},
        "height": {"type": "integer", "minimum": 64, "maximum": 2048, "multipleOf": 8},
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 8},
        "n_iter": {"type": "integer", "minimum": 1, "maximum": 8},
        "override_settings": {
            "type": "object",
            "properties": {
                "sd_model_checkpoint": {"type": "string", "description": "A title from GET /sdapi/v1/sd-models"},
                "CLIP_stop_at_last_layers": {"type": "integer", "minimum": 1, "maximum": 12},
            },
        },
        "send_images": {"type": "boolean"},
        "save_images": {"type": "boolean", "description": "Ignored: results are always stored in the pool"},
    },
}
SDAPI_INTERROGATE = {
    "type": "object",
    "required": ["image"],
    "properties": {"image": PICTURE, "model": {"type": "string", "description": "clip or deepdanbooru: the configured tagger answers"}},
}
PNG_INFO = {"type": "object", "required": ["image"], "properties": {"image": PICTURE}}
# A1111's ExtrasSingleImageRequest: the picture is required; the other fields a1111.extras reads
# (resize_mode, upscaling_resize[_w|_h], upscaling_crop, upscaler_1/2, extras_upscaler_2_visibility)
# are optional, as in A1111, and checked there (docs/a1111.md).
EXTRA_SINGLE_IMAGE = {"type": "object", "required": ["image"], "properties": {"image": PICTURE}}


def _list_of(*names: str) -> dict:
    """A JSON array of objects with these keys (A1111's list answers; values as A1111 types them)."""
    return {"type": "array", "items": {"type": "object", "required": list(names), "properties": {name: {} for name in names}}}


SD_MODELS = _list_of("title", "model_name", "hash", "sha256", "filename", "config")
SAMPLERS = _list_of("name", "aliases", "options")
SCHEDULERS = _list_of("name", "label", "aliases", "default_rho", "need_inner_model")
LORAS = _list_of("name", "alias", "path", "metadata")
PROMPT_STYLES = _list_of("name", "prompt", "negative_prompt")
UPSCALERS = _list_of("name", "model_name", "model_path", "model_url", "scale")
LATENT_UPSCALE_MODES = _list_of("name")
SD_VAES = _list_of("model_name", "filename")
EMPTY_LIST = {"type": "array", "items": {"type": "object"}, "maxItems": 0, "description": "[] (nothing of this kind runs here)"}
REALESRGAN_MODELS = _list_of("name", "path", "scale")
EXTENSIONS = _list_of("name", "remote", "branch", "commit_hash", "version", "commit_date", "enabled")
TASK_PROGRESS = {
    "type": "object",
    "required": ["id_task"],
    "properties": {"id_task": {"type": "string", "minLength": 1, "description": "the task's id (txt2img's force_task_id)"}},
}
