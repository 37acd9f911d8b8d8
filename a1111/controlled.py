"""``txt2img`` with ControlNet units (webuiapi's ``controlnet_units``, the GIMP, Photoshop and Cyanic
plugins): painted by img2img's path (a1111.parsing: lineart, canny, reference and IP-Adapter units
on the retouch engine) from a blank canvas at full denoising, which is text-to-image with controls.

A1111's ControlNet needs each txt2img unit's own picture (there is no source to detect edges on),
so a unit without one is a 400 naming it; the hires fix does not combine with units here (400
naming ``enable_hr``). The canvas's colours are not matched back (nothing of it is kept).
"""

from __future__ import annotations

import dataclasses

from PIL import Image as PILImage

from a1111 import fields, parsing
from generation.requests import JobParameterError, JobRequest
from retouch import imaging
from retouch.services import RetouchUploads

CANVAS_GREY = (127, 127, 127)
# txt2img fields img2img takes as they are (the rest of a txt2img body is its own, or ignored).
SHARED = (
    "prompt", "negative_prompt", "styles", "seed", "subseed", "subseed_strength", "seed_resize_from_h", "seed_resize_from_w",
    "sampler_name", "sampler_index", "scheduler", "batch_size", "n_iter", "steps", "cfg_scale", "width", "height",
    "restore_faces", "tiling", "eta", "s_churn", "s_noise", "s_min_uncond", "override_settings", "script_name",
    "alwayson_scripts", "refiner_checkpoint", "firstpass_image",
)  # fmt: skip


def units(body: dict) -> list[dict]:
    """The body's enabled ControlNet units ([] when none: a plain txt2img)."""
    scripts = body.get("alwayson_scripts") or {}
    if not isinstance(scripts, dict):
        return []
    script = next((script for name, script in scripts.items() if str(name).lower() == "controlnet"), None)
    if not fields.script_enabled(script):
        return []
    args = script.get("args", []) if isinstance(script, dict) else script
    return [unit for unit in args if isinstance(unit, dict) and unit.get("enabled", True)]


def request(body: dict) -> tuple[JobRequest, RetouchUploads]:
    """The retouch job painting a txt2img body with ControlNet units."""
    if fields.truthy(body.get("enable_hr")):
        raise JobParameterError(fields={"enable_hr": "The hires fix does not combine with ControlNet units here: leave it off."})
    for number, unit in enumerate(units(body)):
        if not (unit.get("input_image") or unit.get("image")):
            name = f"alwayson_scripts.ControlNet.args[{number}].input_image"
            raise JobParameterError(fields={name: "A txt2img ControlNet unit needs its own picture (there is no source to detect on)."})
    width = parsing.read_number(body, "width", 512, int)
    height = parsing.read_number(body, "height", 512, int)
    if not all(isinstance(v, int) and 8 <= v <= 8192 for v in (width, height)):
        raise JobParameterError(fields={"width": "width and height must be whole numbers of pixels between 8 and 8192."})
    canvas = imaging.encode_png(PILImage.new("RGB", (width, height), CANVAS_GREY))
    as_img2img = {name: body[name] for name in SHARED if name in body}
    as_img2img |= {"init_images": [parsing.encode_base64(canvas)], "denoising_strength": 1.0, "resize_mode": 0, "inpaint_full_res": False}
    job_request, uploads = parsing.img2img_request(as_img2img)
    options = dataclasses.replace(job_request.kind_options, color_match=False)
    return dataclasses.replace(job_request, kind_options=options), uploads
