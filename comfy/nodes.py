"""The core nodes the door maps, declared as ComfyUI's ``/object_info`` shows them (``nodes.py``'s
INPUT_TYPES, RETURN_TYPES, CATEGORY), and the check of an input's value against its declaration.

A choice list that is the library's (checkpoints, VAEs, LoRAs, upscalers, ControlNets) is filled
when ``/object_info`` is answered (comfy.selectors.object_info); here it is ``LIBRARY``, checked
by the job's own validation, which names the input (comfy.graph.Compiled.node_error).
"""

from __future__ import annotations

from collections.abc import Callable

LIBRARY = "LIBRARY"  # a choice list read from the model library when answered
MAX_SIZE = 16384
MAX_SEED = 0xFFFFFFFFFFFFFFFF

# ComfyUI's sampler names → A1111's (a1111.samplers reads those). ComfyUI's others are not listed.
SAMPLER_NAMES = {
    "euler": "Euler",
    "euler_ancestral": "Euler a",
    "heun": "Heun",
    "dpm_2": "DPM2",
    "dpm_2_ancestral": "DPM2 a",
    "lms": "LMS",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "ddim": "DDIM",
    "uni_pc": "UniPC",
    "lcm": "LCM",
}
SCHEDULERS = ["normal", "karras", "exponential"]
UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]
IMAGE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]  # ImageScale's, ImageScaleBy's


def _int(default: int, low: int, high: int, step: int = 1) -> list:
    return ["INT", {"default": default, "min": low, "max": high, "step": step}]


def _float(default: float, low: float, high: float, step: float = 0.01) -> list:
    return ["FLOAT", {"default": default, "min": low, "max": high, "step": step}]


def _node(category: str, required: dict, output: list[str], names: list[str] | None = None, *, output_node: bool = False, **extra) -> dict:
    return {
        "required": required,
        "output": output,
        "output_name": names or output,
        "category": category,
        "output_node": output_node,
        **extra,
    }


# ControlNet preprocessors (comfy.preprocess): ComfyUI's core Canny (comfy_extras/nodes_canny.py) and
# comfyui_controlnet_aux's line extractors (node_wrappers/*.py @ e8b689a: the image required, the rest optional).
RESOLUTION = _int(512, 64, MAX_SIZE, 64)


def _aux(**optional: list) -> dict:
    """A comfyui_controlnet_aux line extractor: the picture required, its settings optional."""
    category, module = "ControlNet Preprocessors/Line Extractors", "custom_nodes.comfyui_controlnet_aux"
    return _node(category, {"image": ["IMAGE"]}, ["IMAGE"], optional=optional, python_module=module)


PREPROCESSOR_NODES = {
    "Canny": _node(
        "image/preprocessors",
        {"image": ["IMAGE"], "low_threshold": _float(0.4, 0.01, 0.99), "high_threshold": _float(0.8, 0.01, 0.99)},
        ["IMAGE"],
        python_module="comfy_extras.nodes_canny",
    ),
    "CannyEdgePreprocessor": _aux(low_threshold=_int(100, 0, 255), high_threshold=_int(200, 0, 255), resolution=RESOLUTION),
    "LineartStandardPreprocessor": _aux(guassian_sigma=_float(6.0, 0.0, 100.0), intensity_threshold=_int(8, 0, 16), resolution=RESOLUTION),
    "LineArtPreprocessor": _aux(coarse=[["disable", "enable"], {"default": "disable"}], resolution=RESOLUTION),
    "AnimeLineArtPreprocessor": _aux(resolution=RESOLUTION),
    # SwarmUI's resize after its preprocessor (a DynamicCombo in ComfyUI: only the choice Swarm sends is declared).
    "ResizeImageMaskNode": _node(
        "transform",
        {"input": ["IMAGE"], "resize_type": [["scale to multiple"]], "scale_method": [IMAGE_METHODS, {"default": "area"}]},
        ["IMAGE"],
    ),
}
TEXT = ["STRING", {"multiline": True, "dynamicPrompts": True}]
SAMPLING = {
    "steps": _int(20, 1, 10000),
    "cfg": _float(8.0, 0.0, 100.0, 0.1),
    "sampler_name": [list(SAMPLER_NAMES)],
    "scheduler": [SCHEDULERS],
}
NODES: dict[str, dict] = {
    "CheckpointLoaderSimple": _node("loaders", {"ckpt_name": [LIBRARY]}, ["MODEL", "CLIP", "VAE"]),
    "VAELoader": _node("loaders", {"vae_name": [LIBRARY]}, ["VAE"]),
    "LoraLoader": _node(
        "loaders",
        {
            "model": ["MODEL"],
            "clip": ["CLIP"],
            "lora_name": [LIBRARY],
            "strength_model": _float(1.0, -100, 100),
            "strength_clip": _float(1.0, -100, 100),
        },
        ["MODEL", "CLIP"],
    ),
    "LoraLoaderModelOnly": _node(
        "loaders", {"model": ["MODEL"], "lora_name": [LIBRARY], "strength_model": _float(1.0, -100, 100)}, ["MODEL"]
    ),
    "CLIPSetLastLayer": _node("conditioning", {"clip": ["CLIP"], "stop_at_clip_layer": _int(-1, -24, -1)}, ["CLIP"]),
    "CLIPTextEncode": _node("conditioning", {"text": TEXT, "clip": ["CLIP"]}, ["CONDITIONING"]),
    "CLIPTextEncodeSDXL": _node(
        "advanced/conditioning",
        {
            "clip": ["CLIP"],
            "width": _int(1024, 0, MAX_SIZE),
            "height": _int(1024, 0, MAX_SIZE),
            "crop_w": _int(0, 0, MAX_SIZE),
            "crop_h": _int(0, 0, MAX_SIZE),
            "target_width": _int(1024, 0, MAX_SIZE),
            "target_height": _int(1024, 0, MAX_SIZE),
            "text_g": TEXT,
            "text_l": TEXT,
        },
        ["CONDITIONING"],
    ),
    "EmptyLatentImage": _node(
        "latent", {"width": _int(512, 16, MAX_SIZE, 8), "height": _int(512, 16, MAX_SIZE, 8), "batch_size": _int(1, 1, 4096)}, ["LATENT"]
    ),
    "KSampler": _node(
        "sampling",
        {
            "model": ["MODEL"],
            "seed": _int(0, 0, MAX_SEED),
            **SAMPLING,
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"],
            "denoise": _float(1.0, 0.0, 1.0),
        },
        ["LATENT"],
    ),
    "KSamplerAdvanced": _node(
        "sampling",
        {
            "model": ["MODEL"],
            "add_noise": [["enable", "disable"]],
            "noise_seed": _int(0, 0, MAX_SEED),
            **SAMPLING,
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"],
            "start_at_step": _int(0, 0, 10000),
            "end_at_step": _int(10000, 0, 10000),
            "return_with_leftover_noise": [["disable", "enable"]],
        },
        ["LATENT"],
    ),
    "LatentUpscaleBy": _node(
        "latent", {"samples": ["LATENT"], "upscale_method": [UPSCALE_METHODS], "scale_by": _float(1.5, 0.01, 8.0)}, ["LATENT"]
    ),
    "LatentUpscale": _node(
        "latent",
        {
            "samples": ["LATENT"],
            "upscale_method": [UPSCALE_METHODS],
            "width": _int(512, 0, MAX_SIZE, 8),
            "height": _int(512, 0, MAX_SIZE, 8),
            "crop": [["disabled", "center"]],
        },
        ["LATENT"],
    ),
    "VAEDecode": _node("latent", {"samples": ["LATENT"], "vae": ["VAE"]}, ["IMAGE"]),
    "VAEEncode": _node("latent", {"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"]),
    "VAEEncodeForInpaint": _node(
        "latent/inpaint", {"pixels": ["IMAGE"], "vae": ["VAE"], "mask": ["MASK"], "grow_mask_by": _int(6, 0, 64)}, ["LATENT"]
    ),
    "SetLatentNoiseMask": _node("latent/inpaint", {"samples": ["LATENT"], "mask": ["MASK"]}, ["LATENT"]),
    "LoadImage": _node("image", {"image": [LIBRARY, {"image_upload": True}]}, ["IMAGE", "MASK"]),
    "LoadImageMask": _node("mask", {"image": [LIBRARY, {"image_upload": True}], "channel": [["alpha", "red", "green", "blue"]]}, ["MASK"]),
    "ImageScale": _node(
        "image/upscaling",
        {
            "image": ["IMAGE"],
            "upscale_method": [IMAGE_METHODS],
            "width": _int(512, 0, MAX_SIZE),
            "height": _int(512, 0, MAX_SIZE),
            "crop": [["disabled", "center"]],
        },
        ["IMAGE"],
    ),
    "ImageScaleBy": _node(
        "image/upscaling",
        {"image": ["IMAGE"], "upscale_method": [IMAGE_METHODS], "scale_by": _float(1.0, 0.01, 8.0)},
        ["IMAGE"],
    ),
    "UpscaleModelLoader": _node("loaders", {"model_name": [LIBRARY]}, ["UPSCALE_MODEL"]),
    "ImageUpscaleWithModel": _node("image/upscaling", {"upscale_model": ["UPSCALE_MODEL"], "image": ["IMAGE"]}, ["IMAGE"]),
    "ControlNetLoader": _node("loaders", {"control_net_name": [LIBRARY]}, ["CONTROL_NET"]),
    "ControlNetApplyAdvanced": _node(
        "conditioning/controlnet",
        {
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "control_net": ["CONTROL_NET"],
            "image": ["IMAGE"],
            "strength": _float(1.0, 0.0, 10.0),
            "start_percent": _float(0.0, 0.0, 1.0, 0.001),
            "end_percent": _float(1.0, 0.0, 1.0, 0.001),
        },
        ["CONDITIONING", "CONDITIONING"],
        ["positive", "negative"],
        optional={"vae": ["VAE"]},
    ),
    "ControlNetApply": _node(
        "conditioning/controlnet",
        {"conditioning": ["CONDITIONING"], "control_net": ["CONTROL_NET"], "image": ["IMAGE"], "strength": _float(1.0, 0.0, 10.0)},
        ["CONDITIONING"],
    ),
    **PREPROCESSOR_NODES,
    "SaveImage": _node("image", {"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, [], output_node=True),
    "PreviewImage": _node("image", {"images": ["IMAGE"]}, [], output_node=True),
}


def input_spec(class_type: str, name: str) -> list:
    """An input's declaration (``[type or choices, options]``); an undeclared input reads as a bare value."""
    node = NODES[class_type]
    return node["required"].get(name) or node.get("optional", {}).get(name) or ["*"]


def checked(spec: list, value, fail: Callable[[str], Exception]):
    """``value`` as ComfyUI's validation takes it (numbers from text, bounds, static choices), or ``fail(why)``."""
    kind = spec[0]
    options = spec[1] if len(spec) > 1 else {}
    if kind in ("INT", "FLOAT"):
        try:
            number = int(value) if kind == "INT" else float(value)
        except (TypeError, ValueError):
            raise fail(f"Failed to convert an input value to a {kind} value, {value!r}") from None
        if isinstance(value, bool):
            raise fail(f"Failed to convert an input value to a {kind} value, {value!r}")
        if "min" in options and number < options["min"]:
            raise fail(f"Value {number} smaller than min of {options['min']}")
        if "max" in options and number > options["max"]:
            raise fail(f"Value {number} bigger than max of {options['max']}")
        return number
    if kind == "STRING":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise fail(f"Failed to convert an input value to a STRING value, {value!r}")
        return str(value)
    if isinstance(kind, list):
        if value not in kind:
            raise fail(f"Value not in list: {value!r} not in {kind}")
        return value
    if kind == LIBRARY:
        if not isinstance(value, str):
            raise fail(f"Expected a name, got {value!r}")
        return value
    return value
