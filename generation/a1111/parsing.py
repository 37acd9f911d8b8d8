"""A1111 bodies → our JobRequest and uploads, and our results → A1111's answers.

Field by field (A1111's names and defaults as its API documents them):

- ``init_images[0]`` → the source; ``mask`` → the mask (``inpainting_mask_invert`` inverts it);
- ``inpaint_full_res`` + ``inpaint_full_res_padding`` → the rectangle: the mask's box plus the
  padding ("only masked"), else the whole picture; ``width``/``height`` → the working size (its
  shortest side); the answer keeps the init image's size;
- ``mask_blur``, ``denoising_strength``, ``initial_noise_multiplier``, ``prompt``,
  ``negative_prompt``, ``steps``, ``cfg_scale``, ``seed`` (-1 random), ``batch_size`` × ``n_iter``;
- ``inpainting_fill`` 0 fill, 1 original, 2 latent noise, 3 latent nothing → ``masked_content``;
- ``sampler_name`` (+ ``scheduler``) → our sampler names;
- ``alwayson_scripts.ControlNet.args``: lineart/canny units → controls (an ``input_image`` is
  preprocessed here, in the web tier, and sent as the edited edge map; without one the worker
  detects edges on the source); ``module: "none"`` takes ``input_image`` as the edge map;
  reference units (``reference_only``, ``reference_adain…``, ``ip-adapter…``) → the IP-Adapter
  reference, scaled by weight and control mode.

Features we do not have, set to true (``restore_faces``, ``tiling``, a ``script_name``, other
always-on scripts, unknown ControlNet modules), are a 400 naming them; cosmetic fields are ignored.
"""

from __future__ import annotations

import base64
import binascii
import io
import json

from django.conf import settings
from PIL import Image as PILImage

from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.retouch import edges, imaging
from generation.retouch.options import ControlUnit, Reference, RetouchOptions
from generation.services.retouch import RetouchUploads

SAMPLERS = {
    "dpm++ 2m karras": "dpm++_karras",
    "dpm++ 2m": "dpm++",
    "ddim": "ddim",
    "euler a": "euler_a",
    "euler": "euler",
    "lms": "lms",
    "heun": "heun",
    "plms": "pndm",
    "unipc": "unipc",
    "lcm": "lcm",
}
INPAINTING_FILL = {0: "fill", 1: "original", 2: "noise", 3: "nothing"}
CONTROL_MODES = {"balanced": 0, "my prompt is more important": 1, "controlnet is more important": 2}
REFERENCE_MODULES = ("reference_only", "reference_adain", "reference_adain+attn", "ip-adapter")
# A1111 reference strength → IP-Adapter scale, by control mode: the retouch app's "Precise"
# (mode 2, weight 1) → 1.0, "Moderate" (mode 0, weight 1) → 0.6, "Rough" (mode 0, weight 0.5) → 0.3.
REFERENCE_MODE_SCALE = {0: 0.6, 1: 0.35, 2: 1.0}
UNSUPPORTED_FLAGS = ("restore_faces", "tiling", "enable_hr")


def decode_base64(value, field_name: str) -> bytes:
    """A1111 images: base64, with or without a ``data:image/png;base64,`` prefix."""
    if isinstance(value, dict):  # newer ControlNet units: {"image": b64, "mask": b64}
        value = value.get("image")
    if not isinstance(value, str) or not value.strip():
        raise JobParameterError(fields={field_name: "Expected a base64-encoded image."})
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise JobParameterError(fields={field_name: "Not valid base64."}) from None


def encode_base64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def read_number(body: dict, name: str, default, kind=float):
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobParameterError(fields={name: f"{name} must be a number."})
    return kind(value) if kind is float or float(value).is_integer() else value


def _truthy(value) -> bool:
    return bool(value) and value not in ("false", "False", "0")


def _sampler(body: dict) -> str:
    name = body.get("sampler_name") or body.get("sampler_index") or ""
    if not name:
        return ""
    if not isinstance(name, str):
        raise JobParameterError(fields={"sampler_name": "sampler_name must be text."})
    key = name.strip().lower()
    if str(body.get("scheduler", "")).lower() == "karras" and f"{key} karras" in SAMPLERS:
        key = f"{key} karras"
    if key not in SAMPLERS:
        raise JobParameterError(
            fields={"sampler_name": f"Unsupported sampler {name!r}: use one of {', '.join(s.title() for s in SAMPLERS)}."}
        )
    return SAMPLERS[key]


def _control_mode(value, field_name: str) -> int:
    if isinstance(value, str):
        if value.strip().lower() not in CONTROL_MODES:
            raise JobParameterError(fields={field_name: f"Unknown control_mode {value!r}."})
        return CONTROL_MODES[value.strip().lower()]
    if value in (0, 1, 2) and not isinstance(value, bool):
        return int(value)
    raise JobParameterError(fields={field_name: "control_mode must be 0, 1, 2 or its name."})


def _controlnet_units(body: dict) -> list[dict]:
    scripts = body.get("alwayson_scripts") or {}
    if not isinstance(scripts, dict):
        raise JobParameterError(fields={"alwayson_scripts": "Expected an object."})
    unknown = sorted(name for name, script in scripts.items() if name.lower() != "controlnet" and script)
    if unknown:
        raise JobParameterError(fields={"alwayson_scripts": f"Unsupported scripts: {', '.join(unknown)} (only ControlNet)."})
    script = next((script for name, script in scripts.items() if name.lower() == "controlnet"), None) or {}
    units = script.get("args", []) if isinstance(script, dict) else []
    if not isinstance(units, list) or not all(isinstance(unit, dict) for unit in units):
        raise JobParameterError(fields={"alwayson_scripts.ControlNet.args": "Expected a list of unit objects."})
    return [unit for unit in units if unit.get("enabled", True)]


def _controls(units: list[dict]) -> tuple[list[ControlUnit], dict[int, bytes], Reference | None, bytes | None]:
    controls, edge_maps, reference, reference_image = [], {}, None, None
    for number, unit in enumerate(units):
        field_name = f"alwayson_scripts.ControlNet.args[{number}]"
        module = str(unit.get("module") or "none").strip().lower()
        mode = _control_mode(unit.get("control_mode", 0), f"{field_name}.control_mode")
        weight = read_number(unit, "weight", 1.0)
        image = unit.get("input_image") or unit.get("image")
        if module.startswith(REFERENCE_MODULES):
            if reference is not None:
                raise JobParameterError(fields={field_name: "Only one reference unit is supported."})
            reference = Reference(scale=round(weight * REFERENCE_MODE_SCALE[mode], 4))
            reference_image = decode_base64(image, f"{field_name}.input_image") if image else None
            continue
        if module == "none":
            model = str(unit.get("model") or "").lower()
            kind = next((name for name in edges.DETECTORS if name in model), None)
            if kind is None or not image:
                raise JobParameterError(fields={f"{field_name}.module": "module 'none' needs an input_image and a lineart or canny model."})
        elif module in edges.MODULE_ALIASES:
            kind = edges.MODULE_ALIASES[module]
        else:
            raise JobParameterError(
                fields={f"{field_name}.module": f"Unsupported ControlNet module {module!r}: use lineart, canny, none or reference_only."}
            )
        low, high = read_number(unit, "threshold_a", 100.0), read_number(unit, "threshold_b", 200.0)
        if image:
            content = decode_base64(image, f"{field_name}.input_image")
            if module != "none":  # A1111 preprocesses the unit's own picture: so do we, here
                picture = open_picture(content, f"{field_name}.input_image")
                content = imaging.encode_png(edges.detect(kind, picture, low=low, high=high))
            edge_maps[len(controls)] = content
        start, end = read_number(unit, "guidance_start", 0.0), read_number(unit, "guidance_end", 1.0)
        controls.append(ControlUnit(type=kind, scale=weight, start=start, end=end, mode=mode, low=low, high=high))
    return controls, edge_maps, reference, reference_image


def open_picture(content: bytes, field_name: str) -> PILImage.Image:
    try:
        return imaging.open_image(content, max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS, what=field_name)
    except imaging.InvalidImage as exc:
        raise JobParameterError(fields={field_name: exc.message}) from None


def _image_size(content: bytes) -> tuple[int, int] | None:
    """The init image's size from its header (the service decodes and checks it fully)."""
    try:
        with PILImage.open(io.BytesIO(content)) as picture:
            return picture.size
    except Exception:
        return None


def img2img_request(body: dict) -> tuple[JobRequest, RetouchUploads]:
    refused = [name for name in UNSUPPORTED_FLAGS if _truthy(body.get(name))]
    if body.get("script_name"):
        refused.append(f"script_name ({body['script_name']})")
    if refused:
        raise JobParameterError(fields={name.split(" ")[0]: f"{name} is not supported here." for name in refused})
    images = body.get("init_images")
    if not isinstance(images, list) or len(images) != 1:
        raise JobParameterError(fields={"init_images": "Send exactly one init image (base64)."})
    source = decode_base64(images[0], "init_images[0]")
    mask = decode_base64(body["mask"], "mask") if body.get("mask") else None
    fill = read_number(body, "inpainting_fill", 0, int)
    if fill not in INPAINTING_FILL:
        raise JobParameterError(
            fields={"inpainting_fill": "inpainting_fill must be 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing)."}
        )
    width, height = read_number(body, "width", 512, int), read_number(body, "height", 512, int)
    if not all(isinstance(v, int) and v > 0 for v in (width, height)):
        raise JobParameterError(fields={"width": "width and height must be positive whole numbers."})
    only_masked = _truthy(body.get("inpaint_full_res", True)) and mask is not None
    size = None if only_masked else _image_size(source)
    controls, edge_maps, reference, reference_image = _controls(_controlnet_units(body))
    batch, iterations = read_number(body, "batch_size", 1, int), read_number(body, "n_iter", 1, int)
    seed = read_number(body, "seed", -1, int)
    options = RetouchOptions(
        rect=(0, 0, *size) if size else None,
        padding=read_number(body, "inpaint_full_res_padding", 0, int),
        work_size=max(8, min(width, height) // 8 * 8),
        strength=read_number(body, "denoising_strength", 0.75),
        mask_blur=read_number(body, "mask_blur", 4),
        noise_multiplier=read_number(body, "initial_noise_multiplier", 1.0) or 1.0,  # A1111: 0 means "the default"
        invert_mask=_truthy(body.get("inpainting_mask_invert")),
        masked_content=INPAINTING_FILL[fill],
        sampler=_sampler(body),
        controls=tuple(controls),
        reference=reference,
        color_match=True,
    )
    texts = {name: body.get(name) or "" for name in ("prompt", "negative_prompt")}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise JobParameterError(fields={name: f"{name} must be text."})
    request = JobRequest(
        kind=GenerationJob.Kind.RETOUCH,
        prompt=texts["prompt"],
        negative_prompt=texts["negative_prompt"],
        steps=read_number(body, "steps", 50, int),
        guidance=read_number(body, "cfg_scale", 7.0),
        seed=None if seed == -1 else seed,
        count=batch * iterations if isinstance(batch, int) and isinstance(iterations, int) else batch,
        retouch=options,
    )
    return request, RetouchUploads(image=source, mask=mask, controls=edge_maps, reference=reference_image)


def img2img_answer(*, job: GenerationJob, body: dict, images: list[bytes]) -> dict:
    """A1111's answer: the pictures (base64 PNG), the parameters as sent, and ``info`` as a JSON string."""
    seeds = [job.seed + n for n in range(len(images))]
    parameters = {name: value for name, value in body.items() if name not in ("init_images", "mask")}
    parameters.update(init_images=None, mask=None)
    info = {
        "prompt": job.prompt,
        "all_prompts": [job.prompt] * len(images),
        "negative_prompt": job.negative_prompt,
        "all_negative_prompts": [job.negative_prompt] * len(images),
        "seed": job.seed,
        "all_seeds": seeds,
        "subseed": -1,
        "all_subseeds": [-1] * len(images),
        "subseed_strength": 0,
        "width": job.width,
        "height": job.height,
        "sampler_name": body.get("sampler_name") or job.scheduler,
        "cfg_scale": job.guidance,
        "steps": job.steps,
        "batch_size": len(images),
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": job.model_id,
        "sd_model_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": job.retouch.get("requested_strength"),
        "extra_generation_params": {
            "Mask blur": job.retouch.get("mask_blur"),
            "Noise multiplier": job.retouch.get("noise_multiplier"),
            "Steps run": job.retouch.get("steps_run"),
            "Rect": job.retouch.get("rect"),
        },
        "index_of_first_image": 0,
        "infotexts": [
            f"{job.prompt}\nNegative prompt: {job.negative_prompt}\nSteps: {job.steps}, Seed: {seed}, Model: {job.model_id}"
            for seed in seeds
        ],
        "styles": [],
        "job_timestamp": job.created_at.strftime("%Y%m%d%H%M%S"),
        "clip_skip": 1,
        "is_using_inpainting_conditioning": False,
        "version": "emotion-garden",
        "job_id": str(job.pk),
    }
    return {"images": [encode_base64(content) for content in images], "parameters": parameters, "info": json.dumps(info)}


def detect_request(body: dict) -> tuple[str, list[PILImage.Image], dict]:
    """``/controlnet/detect``: (our detector, the pictures, edge_map_png's options), or a 400 naming the field."""
    module = str(body.get("controlnet_module") or "").strip().lower()
    if module not in edges.MODULE_ALIASES:
        raise JobParameterError(fields={"controlnet_module": f"Unsupported module {module!r}: use lineart or canny."})
    values = body.get("controlnet_input_images")
    if not isinstance(values, list) or not values:
        raise JobParameterError(fields={"controlnet_input_images": "Send a list of base64 images."})
    resolution = read_number(body, "controlnet_processor_res", 512, int)
    if not isinstance(resolution, int) or not 64 <= resolution <= 4096:
        raise JobParameterError(fields={"controlnet_processor_res": "controlnet_processor_res must be between 64 and 4096."})
    low, high = read_number(body, "controlnet_threshold_a", 100.0), read_number(body, "controlnet_threshold_b", 200.0)
    pictures = []
    for number, value in enumerate(values):
        name = f"controlnet_input_images[{number}]"
        pictures.append(open_picture(decode_base64(value, name), name))
    return edges.MODULE_ALIASES[module], pictures, {"low": low, "high": high, "resolution": resolution}
