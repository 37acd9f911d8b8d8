"""The img2img fields beyond the picture and its mask: honoured, or a 400 naming them.

A1111 applies every field it receives; a field we silently dropped would give the client another
picture than the one it asked for. So each field that changes pictures is honoured (``styles``,
``mask_blur_x``/``mask_blur_y``, ``sampler_name``/``scheduler`` by a1111.samplers, ``override_settings`` naming a
library model, painted with it as A1111 loads the checkpoint, and its CLIP skip) or, set to a value we
cannot honour, refused by name. Fields that
change nothing in the picture (saving, UI, ``comments``…) are accepted and ignored.
"""

from __future__ import annotations

from pathlib import PurePath

from a1111 import clipskip, options
from generation.requests import JobParameterError
from library import selectors as library
from retouch.requests import library_model

# (``enable_hr`` is txt2img's and A1111's img2img ignores it; ``include_init_images`` only keeps the
# init images in the answer's ``parameters``: both accepted.)
UNSUPPORTED_FLAGS = ("tiling",)
# A1111 accepts restore_faces; the venue has no face restorer (GET /face-restorers is []): the picture
# is painted without, and info's ``warnings`` says so (never an error).
NO_FACE_RESTORER = "restore_faces: this venue has no face restorer; painted without face restoration."


def warnings(body: dict, job) -> list[str]:
    """What the answer's ``info`` tells the client it asked for and did not get (ours; A1111 has no such key)."""
    said = [NO_FACE_RESTORER] if truthy(body.get("restore_faces")) else []
    if job.status == job.Status.CANCELLED:  # interrupt/skip: answered with what was painted (a1111.waits)
        said.append(f"interrupted: {job.images_done} of {job.images_total} pictures painted.")
    return said


# Fields that change pictures → the values that leave them as we paint (A1111's defaults).
NEUTRAL = {
    "subseed_strength": (None, 0),  # variation seeds: not implemented for retouch
    "seed_resize_from_w": (None, 0, -1),
    "seed_resize_from_h": (None, 0, -1),
    "s_churn": (None, 0),
    "s_noise": (None, 1),
    "s_min_uncond": (None, 0),
    "latent_mask": (None, ""),
    "refiner_checkpoint": (None, "", "None"),
    "firstpass_image": (None, ""),
}
MAX_BLUR = 64


def truthy(value) -> bool:
    return bool(value) and value not in ("false", "False", "0")


def refuse_unsupported(body: dict) -> None:
    refused = {name: f"{name} is not supported here." for name in UNSUPPORTED_FLAGS if truthy(body.get(name))}
    if body.get("script_name"):
        refused["script_name"] = f"script_name ({body['script_name']}) is not supported here: no scripts run."
    for name, neutral in NEUTRAL.items():
        value = body.get(name)
        if not any(options.same_value(value, allowed) for allowed in neutral):
            shown = ", ".join(repr(v) for v in neutral if v is not None)
            refused[name] = f"{name}={value!r} would change the picture and is not supported here (leave it {shown})."
    if refused:
        raise JobParameterError(fields=refused)


def script_enabled(script) -> bool:
    """Whether an ``alwayson_scripts`` entry asks for anything: an extension's disabled stub
    (``{"args": [false]}``, ControlNet's ``{"args": []}``, units with ``enabled: false``) does not."""
    args = script.get("args", []) if isinstance(script, dict) else script
    if not isinstance(args, list):
        return bool(args)
    return any(arg and (not isinstance(arg, dict) or arg.get("enabled", True)) for arg in args)


def mask_blur(body: dict) -> float:
    """``mask_blur``, else ``mask_blur_x``/``mask_blur_y`` (A1111: mask_blur sets both); unequal ones are refused."""
    value = body.get("mask_blur")
    if value is None:
        x, y = body.get("mask_blur_x", 4), body.get("mask_blur_y", 4)
        x, y = (4 if v is None else v for v in (x, y))
        for name, v in (("mask_blur_x", x), ("mask_blur_y", y)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= MAX_BLUR:
                raise JobParameterError(fields={name: f"{name} must be a number between 0 and {MAX_BLUR}."})
        if x != y:
            raise JobParameterError(
                fields={"mask_blur_x": f"mask_blur_x={x!r} and mask_blur_y={y!r} differ: only an even (round) blur is supported."}
            )
        value = x
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobParameterError(fields={"mask_blur": "mask_blur must be a number."})
    return value


def override_settings(body: dict, chosen_model: str = "") -> tuple[int, str]:
    """``override_settings``: (the CLIP skip, ``CLIP_stop_at_last_layers`` 1–12, honoured; the library
    model to paint with, "" for the retouch model); other settings that change pictures are refused."""
    values = body.get("override_settings") or {}
    if not isinstance(values, dict):
        raise JobParameterError(fields={"override_settings": "override_settings must be an object."})
    clip_skip = values.get("CLIP_stop_at_last_layers")
    clip_skip = clipskip.saved() if clip_skip is None else clip_skip  # POST /options' value, else 1
    if isinstance(clip_skip, bool) or not isinstance(clip_skip, int) or not 1 <= clip_skip <= 12:
        raise JobParameterError(
            fields={"override_settings.CLIP_stop_at_last_layers": "CLIP_stop_at_last_layers must be a whole number from 1 to 12."}
        )
    options.check_picture_settings({k: v for k, v in values.items() if k != "CLIP_stop_at_last_layers"}, prefix="override_settings.")
    name, field = values.get("sd_model_checkpoint"), "override_settings.sd_model_checkpoint"
    if name in (None, "") and chosen_model:  # the caller's POST /options choice, never ignored
        name, field = chosen_model, "sd_model_checkpoint"
    return clip_skip, chosen_painter(name, field)


def chosen_painter(name, field: str) -> str:
    """The library model an img2img names (A1111 loads the checkpoint and inpaints with it), "" for the
    retouch model, or a 400 naming ``field`` and the model, never its path on the server."""
    if name in (None, ""):
        return ""
    if not isinstance(name, str):
        raise JobParameterError(fields={field: "Expected a checkpoint title or name (GET /sdapi/v1/sd-models)."})
    retouch = options.retouch_model()
    if library.strip_title(name) in {retouch, PurePath(retouch).name}:
        return ""
    if not library.enabled():  # the retouch model and the default are the only models
        if options.is_retouch_model(name):
            return ""
        painter = PurePath(retouch).name
        raise JobParameterError(
            fields={field: f"Unknown model {name!r}: without a model library img2img paints with the retouch model {painter!r}."}
        )
    errors: dict[str, str] = {}
    model = library_model(name, errors)
    if errors:
        raise JobParameterError(fields={field: errors["model"]})
    return model
