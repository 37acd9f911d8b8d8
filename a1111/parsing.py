"""A1111 bodies → our JobRequest and uploads, and our results → A1111's answers.

Field by field (A1111's names and defaults as its API documents them):

- ``init_images[0]`` → the source; ``mask`` → the mask (``inpainting_mask_invert`` inverts it);
- ``inpaint_full_res`` + ``inpaint_full_res_padding`` → the rectangle: the mask's box plus the
  padding ("only masked"; the answer keeps the init image's size), else the whole picture, which
  is first brought to ``width`` × ``height`` by ``resize_mode`` (``a1111.resize``), as
  A1111 does: the answer then has that size; ``width``/``height`` → the working size (shortest side);
- ``mask_blur`` (or equal ``mask_blur_x``/``mask_blur_y``), ``denoising_strength``, ``initial_noise_multiplier``, ``prompt``,
  ``negative_prompt``, ``steps``, ``cfg_scale``, ``seed`` (-1 random), ``batch_size`` × ``n_iter``;
- ``inpainting_fill`` 0 fill, 1 original, 2 latent noise, 3 latent nothing → ``masked_content``;
- ``sampler_name`` (+ ``scheduler`` Automatic or Karras) → our sampler names; ``styles`` →
  ``a1111.styles``; ``send_images: false`` → no pictures in the answer;
- ``alwayson_scripts.ControlNet.args``: lineart/canny units → controls (an ``input_image`` is
  preprocessed here, in the web tier, and sent as the edited edge map, or taken as the finished
  map with GARDEN_A1111_CONTROL_PASSTHROUGH; without one the worker detects edges on the source);
  ``module: "none"`` takes ``input_image`` as the edge map;
  reference units (``reference_only``, ``reference_adain…``, ``ip-adapter…``) → the IP-Adapter
  reference, scaled by weight and control mode.

Features we do not have (``tiling``, a ``script_name``, other always-on
scripts, unknown ControlNet modules, ``subseed_strength`` > 0, settings in ``override_settings``
that change pictures: ``a1111.fields``) are a 400 naming them; cosmetic fields are ignored;
``restore_faces`` is accepted and painted without (no face restorer here: info's ``warnings`` says so).
"""

from __future__ import annotations

import base64
import binascii
import json
import math

from django.conf import settings
from PIL import Image as PILImage

from a1111 import echo, fields, samplers, shorthash, steps, styles
from a1111.resize import LATENT_UPSCALE, RESIZE_MODES, resize_image
from generation import served_names
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from retouch import edges, imaging
from retouch.models import RetouchKind
from retouch.options import ControlUnit, Reference, RetouchOptions
from retouch.services import RetouchUploads

INPAINTING_FILL = {0: "fill", 1: "original", 2: "noise", 3: "nothing"}
CONTROL_MODES = {"balanced": 0, "my prompt is more important": 1, "controlnet is more important": 2}
REFERENCE_MODULES = ("reference_only", "reference_adain", "reference_adain+attn", "ip-adapter")
# A1111 reference strength → IP-Adapter scale, by control mode: the retouch app's "Precise"
# (mode 2, weight 1) → 1.0, "Moderate" (mode 0, weight 1) → 0.6, "Rough" (mode 0, weight 0.5) → 0.3.
REFERENCE_MODE_SCALE = {0: 0.6, 1: 0.35, 2: 1.0}


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
    if isinstance(value, str):  # A1111's pydantic models read numbers sent as text ("-1": Photoshop's seed)
        try:
            value = float(value.strip()) if not value.strip().lstrip("-").isdigit() else int(value.strip())
        except ValueError:
            raise JobParameterError(fields={name: f"{name} must be a number."}) from None
        if not math.isfinite(value):
            raise JobParameterError(fields={name: f"{name} must be a finite number."})
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobParameterError(fields={name: f"{name} must be a number."})
    return kind(value) if kind is float or float(value).is_integer() else value


truthy = fields.truthy


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
    unknown = sorted(name for name, script in scripts.items() if name.lower() != "controlnet" and fields.script_enabled(script))
    if unknown:
        raise JobParameterError(fields={"alwayson_scripts": f"Unsupported scripts: {', '.join(unknown)} (only ControlNet)."})
    script = next((script for name, script in scripts.items() if name.lower() == "controlnet"), None) or {}
    units = script.get("args", []) if isinstance(script, dict) else []
    if not isinstance(units, list) or not all(isinstance(unit, dict) for unit in units):
        raise JobParameterError(fields={"alwayson_scripts.ControlNet.args": "Expected a list of unit objects."})
    return [unit for unit in units if unit.get("enabled", True)]


def _controls(units: list[dict]) -> tuple[list[ControlUnit], dict[int, bytes], Reference | None, bytes | None]:
    controls: list[ControlUnit] = []
    edge_maps: dict[int, bytes] = {}
    reference: Reference | None = None
    reference_image: bytes | None = None
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
            # A1111 preprocesses the unit's own picture: so do we, here, unless the unit's picture is
            # the finished map (the retouch app's server ran with canny/lineart preprocessors as identity).
            if module != "none" and not settings.GARDEN_A1111_CONTROL_PASSTHROUGH:
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


def _resized(content: bytes, field_name: str, mode: int, width: int, height: int) -> bytes:
    """A picture brought to the answer's size as A1111 does before repainting the whole of it (PNG)."""
    picture = open_picture(content, field_name)
    if picture.mode not in ("L", "LA", "RGB", "RGBA"):
        has_alpha = picture.mode in ("PA", "La") or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    return imaging.encode_png(resize_image(mode, picture, width, height))


def _fitted_edge_map(content: bytes, number: int, mode: int, width: int, height: int) -> bytes:
    """An edge map for a picture brought to width x height: transformed like the picture, if need be.

    A map of that size, or of its shape under "just resize", is left as sent: the worker scales it
    once, straight to the working size (the finished map must reach the ControlNet as drawn).
    """
    picture = open_picture(content, f"alwayson_scripts.ControlNet.args[{number}].input_image")
    same_shape = abs(picture.width * height - picture.height * width) <= max(width, height)
    if picture.size == (width, height) or (mode in (0, LATENT_UPSCALE) and same_shape):
        return content
    return imaging.encode_png(resize_image(mode, picture, width, height))


def _size(body: dict) -> tuple[int, int]:
    width, height = read_number(body, "width", 512, int), read_number(body, "height", 512, int)
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= 8192:
            raise JobParameterError(fields={name: f"{name} must be a whole number of pixels between 8 and 8192."})
    if width * height > settings.GARDEN_RETOUCH_MAX_PIXELS:
        raise JobParameterError(
            fields={"width": f"width x height is over {settings.GARDEN_RETOUCH_MAX_PIXELS} (GARDEN_RETOUCH_MAX_PIXELS)."}
        )
    return width, height


def img2img_request(body: dict, chosen_model: str = "") -> tuple[JobRequest, RetouchUploads]:
    """``chosen_model``: the caller's POST /options model (a1111.identity), painted with unless the body names another."""
    fields.refuse_unsupported(body)
    clip_skip, model = fields.override_settings(body, chosen_model)
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
    width, height = _size(body)
    resize_mode = read_number(body, "resize_mode", 0, int)
    if resize_mode not in RESIZE_MODES:
        raise JobParameterError(fields={"resize_mode": "resize_mode must be 0 (just resize), 1 (crop and resize), 2 or 3."})
    only_masked = truthy(body.get("inpaint_full_res", True)) and mask is not None
    if not only_masked:  # the whole picture is repainted at width x height, and answered at that size
        source = _resized(source, "init_images[0]", resize_mode, width, height)
        mask = _resized(mask, "mask", resize_mode, width, height) if mask is not None else None
    controls, edge_maps, reference, reference_image = _controls(_controlnet_units(body))
    if not only_masked:
        edge_maps = {n: _fitted_edge_map(content, n, resize_mode, width, height) for n, content in edge_maps.items()}
    batch, iterations = read_number(body, "batch_size", 1, int), read_number(body, "n_iter", 1, int)
    seed = read_number(body, "seed", -1, int)
    sampler, _ = samplers.choose(body)
    eta = samplers.eta(body, sampler)  # DDIM's, painted by the retouch engine's scheduler as txt2img's
    fixed = steps.requested(body.get("override_settings") or {})
    asked_steps, denoising = steps.img2img_schedule(
        read_number(body, "steps", 50, int), read_number(body, "denoising_strength", 0.75), fixed=fixed
    )
    options = RetouchOptions(
        rect=None if only_masked else (0, 0, width, height),
        padding=read_number(body, "inpaint_full_res_padding", 0, int),
        work_size=max(8, min(width, height) // 8 * 8),
        strength=denoising,
        mask_blur=fields.mask_blur(body),
        noise_multiplier=read_number(body, "initial_noise_multiplier", 1.0) or 1.0,  # A1111: 0 means "the default"
        invert_mask=truthy(body.get("inpainting_mask_invert")),
        masked_content=INPAINTING_FILL[fill],
        sampler=sampler,
        eta=eta,
        clip_skip=clip_skip,
        controls=tuple(controls),
        reference=reference,
        color_match=True,
    )
    texts = {name: body.get(name) or "" for name in ("prompt", "negative_prompt")}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise JobParameterError(fields={name: f"{name} must be text."})
    prompt, negative = styles.apply_styles(texts["prompt"], texts["negative_prompt"], body.get("styles"))
    request = JobRequest(
        kind=RetouchKind.RETOUCH,
        model=model,
        prompt=prompt,
        negative_prompt=negative,
        steps=asked_steps,
        guidance=read_number(body, "cfg_scale", 7.0),
        seed=None if seed == -1 else seed,
        count=batch * iterations if isinstance(batch, int) and isinstance(iterations, int) else batch,
        kind_options=options,
    )
    return request, RetouchUploads(image=source, mask=mask, controls=edge_maps, reference=reference_image)


def img2img_answer(*, job: GenerationJob, body: dict, images: list[bytes], safety: list[dict] | None = None, sampler: str = "") -> dict:
    """A1111's answer: the pictures (base64 PNG), the parameters as sent, and ``info`` as a JSON string.
    ``sampler``: the A1111 name of the model's own sampler, for a body that named none. The steps and
    denoising strength are the client's (with ``img2img_fix_steps`` the job schedules more steps)."""
    seeds = [job.seed + n for n in range(len(images))]
    retouch = job.retouch_job.options
    model = job.model or served_names.model_id(job.model_id)
    steps = body.get("steps") if isinstance(body.get("steps"), int) else job.steps
    denoising = body.get("denoising_strength", retouch.get("requested_strength"))
    parameters = echo.img2img_parameters(body)
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
        "sampler_name": body.get("sampler_name") or sampler,
        "cfg_scale": job.guidance,
        "steps": steps,
        "batch_size": len(images),
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": model,
        "sd_model_hash": shorthash.model_hash(job),
        "sd_vae_name": None,  # retouch paints with the model's own VAE
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": denoising,
        "extra_generation_params": {
            "Mask blur": retouch.get("mask_blur"),
            "Noise multiplier": retouch.get("noise_multiplier"),
            "Steps run": retouch.get("steps_run"),
            "Rect": retouch.get("rect"),
            **({"Resize mode": "just resize (no latent upscaler here: resized as 0)"} if body.get("resize_mode") == LATENT_UPSCALE else {}),
        },
        "index_of_first_image": 0,
        "infotexts": [
            f"{job.prompt}\nNegative prompt: {job.negative_prompt}\nSteps: {steps}, Seed: {seed}, Model: {model}" for seed in seeds
        ],
        "styles": styles.style_names(body.get("styles")),
        "job_timestamp": job.created_at.strftime("%Y%m%d%H%M%S"),
        "clip_skip": retouch.get("clip_skip", 1),
        "is_using_inpainting_conditioning": False,
        "version": "emotion-garden",
        "job_id": str(job.pk),
        "safety": safety or [],  # each picture's image check (a1111.quarantine): flagged ones come blurred
        "warnings": fields.warnings(body, job),
    }
    # send_images false: A1111 answers no pictures (the job's results stay in the pool all the same).
    pictures = [encode_base64(content) for content in images] if truthy(body.get("send_images", True)) else []
    return {"images": pictures, "parameters": parameters, "info": json.dumps(info)}


def detect_request(body: dict) -> tuple[str, list[PILImage.Image], dict]:
    """``/controlnet/detect``: (our detector, the pictures, edge_map_png's options), or a 400 naming the field."""
    module = str(body.get("controlnet_module") or "").strip().lower()
    if module not in edges.MODULE_ALIASES:
        raise JobParameterError(fields={"controlnet_module": f"Unsupported module {module!r}: use lineart or canny."})
    # webuiapi's ControlNet client sends the pictures as "controlnet_images".
    key = "controlnet_input_images" if "controlnet_input_images" in body else "controlnet_images"
    values = body.get(key)
    if not isinstance(values, list) or not values:
        raise JobParameterError(fields={"controlnet_input_images": "Send a list of base64 images (controlnet_input_images)."})
    resolution = read_number(body, "controlnet_processor_res", 512, int)
    if not isinstance(resolution, int) or not 64 <= resolution <= 4096:
        raise JobParameterError(fields={"controlnet_processor_res": "controlnet_processor_res must be between 64 and 4096."})
    low, high = read_number(body, "controlnet_threshold_a", 100.0), read_number(body, "controlnet_threshold_b", 200.0)
    pictures = []
    for number, value in enumerate(values):
        name = f"{key}[{number}]"
        pictures.append(open_picture(decode_base64(value, name), name))
    return edges.MODULE_ALIASES[module], pictures, {"low": low, "high": high, "resolution": resolution}
