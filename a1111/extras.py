"""``POST /sdapi/v1/extra-single-image``: upscale one picture, as A1111's Extras tab does.

- ``resize_mode`` 0: ``upscaling_resize`` times the picture's size; 1: ``upscaling_resize_w`` x
  ``upscaling_resize_h``, covering it and cropped to it in the middle (``upscaling_crop``, the
  default) or only covering it.
- ``upscaler_1``: ``None`` (the picture as it is), ``Lanczos`` and ``Nearest`` (resampled here, in
  the web process) or an upscaler of the library (an ESRGAN-family model, run on a GPU worker:
  a1111.tasks.upscale_picture, generation.backends.upscalers). ``upscaler_2`` with
  ``extras_upscaler_2_visibility`` > 0 is blended over it, as A1111 does.
- Face restoration (``gfpgan_visibility``, ``codeformer_visibility``) is a 400 naming the field;
  ``show_extras_results``, ``upscale_first`` and ``resize_mode`` 0's unused sizes are ignored.

The answer is A1111's ``{"html_info", "image"}`` (base64 PNG). A model upscale hands the picture
to the worker through the private upload storage (retouch.uploads) and waits for the result at
most GARDEN_A1111_WAIT_SECONDS (then 504); both files are deleted once answered.
"""

from __future__ import annotations

import io
import time
import uuid

from django.conf import settings
from PIL import Image as PILImage

from a1111 import parsing
from generation.requests import JobParameterError
from library import selectors as library
from retouch import uploads
from retouch.upscale import MAX_SCALE  # the upscale kind's bound: one for both ways in

RESAMPLERS = {"Lanczos": PILImage.Resampling.LANCZOS, "Nearest": PILImage.Resampling.NEAREST}
FACE_FIELDS = ("gfpgan_visibility", "codeformer_visibility")
POLL_SECONDS = 0.1


class ExtrasTimeout(Exception):
    """The worker did not answer within GARDEN_A1111_WAIT_SECONDS."""


class ExtrasFailed(Exception):
    """The worker could not upscale the picture; the message says why."""


def target_size(body: dict, width: int, height: int) -> tuple[int, int, bool]:
    """(width, height, crop) of the answer."""
    mode = body.get("resize_mode", 0)
    if mode not in (0, 1):
        raise JobParameterError(fields={"resize_mode": "resize_mode must be 0 (scale by upscaling_resize) or 1 (to a size)."})
    if mode == 0:
        scale = parsing.read_number(body, "upscaling_resize", 2.0)
        if not 0 < scale <= MAX_SCALE:
            raise JobParameterError(fields={"upscaling_resize": f"upscaling_resize must be above 0 and at most {MAX_SCALE}."})
        return max(1, int(width * scale)), max(1, int(height * scale)), False
    sizes = {name: parsing.read_number(body, name, 512, int) for name in ("upscaling_resize_w", "upscaling_resize_h")}
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise JobParameterError(fields={name: f"{name} must be a whole number of pixels."})
    crop = body.get("upscaling_crop", True)
    if not isinstance(crop, bool):
        raise JobParameterError(fields={"upscaling_crop": "upscaling_crop must be true or false."})
    return sizes["upscaling_resize_w"], sizes["upscaling_resize_h"], crop


def _upscaler(body: dict, name: str) -> str:
    value = body.get(name) or "None"
    if not isinstance(value, str):
        raise JobParameterError(fields={name: "Expected an upscaler's name (GET /sdapi/v1/upscalers)."})
    value = value.strip()
    if value in ("None", *RESAMPLERS):
        return value
    try:
        return library.resolve_upscaler(value).name
    except library.UnknownEntry as exc:
        raise JobParameterError(fields={name: f"{exc} Built in: None, Lanczos, Nearest."}) from None


def extras_request(body: dict) -> dict:
    """The checked request: picture, size, crop, upscalers and blend."""
    for name in FACE_FIELDS:
        if parsing.read_number(body, name, 0.0):
            raise JobParameterError(fields={name: f"{name}: face restoration is not supported here (leave it 0)."})
    picture = parsing.open_picture(parsing.decode_base64(body.get("image"), "image"), "image").convert("RGB")
    width, height, crop = target_size(body, picture.width, picture.height)
    size = (width, height)
    if body.get("resize_mode") == 1:  # cover the size in the picture's aspect (then crop, with upscaling_crop)
        scale = max(width / picture.width, height / picture.height)
        size = (max(width, round(picture.width * scale)), max(height, round(picture.height * scale)))
    if size[0] * size[1] > settings.GARDEN_RETOUCH_MAX_PIXELS:
        limit = settings.GARDEN_RETOUCH_MAX_PIXELS
        raise JobParameterError(fields={"upscaling_resize": f"{size[0]}x{size[1]} is more than GARDEN_RETOUCH_MAX_PIXELS ({limit})."})
    visibility = parsing.read_number(body, "extras_upscaler_2_visibility", 0.0)
    if not 0 <= visibility <= 1:
        raise JobParameterError(fields={"extras_upscaler_2_visibility": "extras_upscaler_2_visibility must be between 0 and 1."})
    return {
        "picture": picture,
        "size": size,
        "crop": (width, height) if crop and size != (width, height) else None,
        "first": _upscaler(body, "upscaler_1"),
        "second": _upscaler(body, "upscaler_2") if visibility > 0 else "None",
        "visibility": visibility,
    }


def _png(picture: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def _on_worker(picture: PILImage.Image, upscaler: str, size: tuple[int, int]) -> PILImage.Image:
    """The library upscaler run by a GPU worker (a1111.tasks.upscale_picture) on ``picture``."""
    from a1111 import tasks

    folder = f"a1111-extras/{uuid.uuid4().hex}"
    source, result, error = f"{folder}/source.png", f"{folder}/result.png", f"{folder}/error.txt"
    uploads.write_upload(key=source, content=_png(picture))
    try:
        tasks.upscale_picture.apply_async(
            kwargs={"source": source, "result": result, "error": error, "upscaler": upscaler, "width": size[0], "height": size[1]},
            queue=settings.GARDEN_GPU_QUEUE,
        )
        storage = uploads.upload_storage()
        cap = settings.GARDEN_A1111_WAIT_SECONDS  # negative (no fixed limit): a job's own time limit
        deadline = time.monotonic() + (cap if cap >= 0 else settings.GARDEN_JOB_SOFT_TIME_LIMIT)
        while True:
            if storage.exists(error):
                raise ExtrasFailed(uploads.read_upload(error).decode("utf-8", "replace"))
            if storage.exists(result):
                with PILImage.open(io.BytesIO(uploads.read_upload(result))) as done:
                    return done.convert("RGB")
            if time.monotonic() >= deadline:
                raise ExtrasTimeout
            time.sleep(POLL_SECONDS)
    finally:
        uploads.delete_uploads([source, result, error])


def _upscaled(picture: PILImage.Image, upscaler: str, size: tuple[int, int]) -> PILImage.Image:
    if upscaler == "None":
        return picture if picture.size == size else picture.resize(size, PILImage.Resampling.LANCZOS)
    if upscaler in RESAMPLERS:
        return picture.resize(size, RESAMPLERS[upscaler])
    return _on_worker(picture, upscaler, size)


def upscale(request: dict) -> tuple[PILImage.Image, str]:
    """(the answer's picture, its A1111 info line)."""
    picture, size = request["picture"], request["size"]
    if request["first"] == "None" and request["second"] == "None":
        done = picture  # A1111 leaves the picture as it is without an upscaler
    else:
        done = _upscaled(picture, request["first"], size)
        if request["second"] != "None":
            done = PILImage.blend(done, _upscaled(picture, request["second"], size), request["visibility"])
    if request["crop"] is not None and done.size == size:
        width, height = request["crop"]
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        done = done.crop((left, top, left + width, top + height))
    info = f"Postprocess upscale to: {done.width}x{done.height}, Postprocess upscaler: {request['first']}"
    if request["second"] != "None":
        info += f", Postprocess upscaler 2: {request['second']}"
    return done, info


def answer(picture: PILImage.Image, info: str) -> dict:
    return {"html_info": f"<p>{info}</p>", "image": parsing.encode_base64(_png(picture))}
