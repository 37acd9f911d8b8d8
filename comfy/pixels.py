"""Pictures between nodes: the resizes and model upscales a graph puts on a decoded or loaded picture.

ComfyUI upscales pixels with ``ImageScale`` / ``ImageScaleBy`` (resampling) and
``UpscaleModelLoader`` + ``ImageUpscaleWithModel`` (an ESRGAN-family model). The venue upscales in
two places, and the door maps onto those:

- between two samplers (``VAEDecode`` → upscale → ``VAEEncode`` → the second sampler): the hires
  fix with a pixel upscaler, A1111's ``hr_upscaler`` ``Lanczos``, ``Nearest`` or a library
  upscaler (generation.requests.hires). SwarmUI's "Refiner Upscale" graph is this shape
  (``WorkflowGeneratorSteps.cs`` @ 062407c: nodes 24 VAEDecode, 27 UpscaleModelLoader, 28
  ImageUpscaleWithModel, 26 ImageScale, 25 VAEEncode, 23 KSamplerAdvanced);
- before img2img (``LoadImage`` → resize → ``VAEEncode``): img2img's own size (A1111's ``width``,
  ``height``, ``resize_mode``).

- an uploaded picture upscaled and saved (``LoadImage`` → upscale → ``SaveImage``): an upscale
  job (retouch.upscale), whose picture is checked and marked as painted pictures are.

A painted picture upscaled with no sampler after it is not one job (two: the painting, then its
upscale), so that is refused naming the node, as is a resampling the workers do not have
(bilinear, bicubic, area: lanczos and nearest-exact are).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image as PILImage

from comfy.reading import Reader

SCALERS = ("ImageScale", "ImageScaleBy", "ImageUpscaleWithModel")
PIXEL_SOURCES = ("LoadImage", "VAEDecode", *SCALERS)
RESAMPLERS = {"lanczos": "Lanczos", "nearest-exact": "Nearest"}  # ComfyUI's → A1111's pixel upscalers (generation.backends.hires)


@dataclass
class Pixels:
    """Where a picture input's pixels come from: the scaling nodes (the source's side first) and the source."""

    source: str
    source_class: str
    scalers: list[tuple[str, str]] = field(default_factory=list)  # (node id, class), from the source outward


def walk(reader: Reader, node_id: str, name: str) -> Pixels:
    """Follow ``name`` (an IMAGE input) back through resizes and model upscales to its source."""
    chain = []
    linked, _, class_type = reader.source(node_id, name, *PIXEL_SOURCES)
    while class_type in SCALERS:
        chain.append((linked, class_type))
        linked, _, class_type = reader.source(linked, "image", *PIXEL_SOURCES)
    return Pixels(source=linked, source_class=class_type, scalers=list(reversed(chain)))


def refuse_finished_upscale(reader: Reader, pixels: Pixels) -> None:
    """A painted picture upscaled after its last sampler: no one job paints that (named at its first scaling node)."""
    if pixels.scalers:
        node_id, class_type = pixels.scalers[0]
        name = "upscale_model" if class_type == "ImageUpscaleWithModel" else "image"
        raise reader.fail(
            node_id,
            name,
            "An upscale of the finished picture is not a job here: encode it again (VAEEncode) into a second sampler "
            "(the hires fix), or upscale it in the client",
            "custom_validation_failed",
        )


def img2img_size(reader: Reader, pixels: Pixels, body: dict, picture_size: tuple[int, int]) -> None:
    """img2img's size from one resize of the loaded picture (none: the picture's own size)."""
    if not pixels.scalers:
        body["width"], body["height"] = picture_size
        return
    if len(pixels.scalers) > 1 or pixels.scalers[0][1] == "ImageUpscaleWithModel":
        node_id, _ = pixels.scalers[-1] if len(pixels.scalers) > 1 else pixels.scalers[0]
        message = "img2img takes one resize (ImageScale or ImageScaleBy) of the loaded picture here, no model upscale"
        raise reader.fail(node_id, "image", message)
    node_id, class_type = pixels.scalers[0]
    if class_type == "ImageScaleBy":
        scale = reader.value(node_id, "scale_by", "width")
        body["width"], body["height"] = (max(8, round(side * scale)) for side in picture_size)
        return
    width, height = reader.value(node_id, "width", "width"), reader.value(node_id, "height", "height")
    reader.fields["height"] = (node_id, "height")
    if not width and not height:
        width, height = picture_size
    elif not width:  # ComfyUI keeps the aspect when one side is 0
        width = max(1, round(picture_size[0] * height / picture_size[1]))
    elif not height:
        height = max(1, round(picture_size[1] * width / picture_size[0]))
    body["width"], body["height"] = width, height
    if reader.value(node_id, "crop") == "center":
        body["resize_mode"] = 1


def hires(reader: Reader, pixels: Pixels, body: dict) -> None:
    """The hires fix's upscaler and size from what lies between the two passes (the decoded first pass)."""
    model = None
    chain = list(pixels.scalers)
    if chain and chain[0][1] == "ImageUpscaleWithModel":
        model, _ = chain.pop(0)
    if len(chain) > 1 or (chain and chain[0][1] == "ImageUpscaleWithModel"):
        raise reader.fail(chain[-1][0], "image", "One upscale between the passes is supported here (a model, then one resize)")
    if model is None and not chain:
        raise reader.fail(pixels.source, "samples", "Nothing is upscaled between the two samplers: add ImageScale or an upscale model")
    scale, loader = _upscaler(reader, body, "hr_upscaler", model, chain[0] if chain else None)
    if not chain and loader is not None:  # the model's own scale
        body["hr_scale"] = scale
        reader.fields["hr_scale"] = (loader, "model_name")
        return
    node_id, class_type = chain[0]
    if class_type == "ImageScaleBy":
        body["hr_scale"] = reader.value(node_id, "scale_by", "hr_scale") * (scale or 1)
        return
    if reader.value(node_id, "crop") != "disabled":
        raise reader.fail(node_id, "crop", "The hires fix keeps the whole picture here: crop must be disabled")
    body["hr_resize_x"] = reader.value(node_id, "width", "hr_resize_x")
    body["hr_resize_y"] = reader.value(node_id, "height", "hr_resize_y")
    if not body["hr_resize_x"] and not body["hr_resize_y"]:  # ComfyUI: both 0 leave the picture as it is
        del body["hr_resize_x"], body["hr_resize_y"]
        body["hr_scale"] = scale or 1


def upscale_only(reader: Reader, pixels: Pixels) -> dict:
    """An upscale job's fields (retouch.upscale: ``upscaler``, ``scale`` or ``width`` and ``height``)
    from an uploaded picture's scaling nodes: at most one model upscale, then at most one resize."""
    chain = list(pixels.scalers)
    model = None
    if chain[0][1] == "ImageUpscaleWithModel":
        model, _ = chain.pop(0)
    if len(chain) > 1 or (chain and chain[0][1] == "ImageUpscaleWithModel"):
        first_extra = chain[0] if chain[0][1] == "ImageUpscaleWithModel" else chain[1]  # the first node past what fits
        message = "An upscale takes one model upscale, then one resize (ImageScale or ImageScaleBy) here"
        raise reader.fail(first_extra[0], "image", message)
    body: dict = {}
    model_scale, loader = _upscaler(reader, body, "upscaler", model, chain[0] if chain else None)
    scale = model_scale or 1
    if not chain and loader is not None:  # the model's own scale
        body["scale"] = scale
        reader.fields["scale"] = (loader, "model_name")
        return body
    node_id, class_type = chain[0]
    if class_type == "ImageScaleBy":
        body["scale"] = reader.value(node_id, "scale_by", "scale") * scale
        return body
    if reader.value(node_id, "crop") != "disabled":
        raise reader.fail(node_id, "crop", "An upscale keeps the whole picture here: crop must be disabled")
    width, height = reader.value(node_id, "width", "width"), reader.value(node_id, "height", "height")
    if not width and not height:  # ComfyUI: both 0 leave the picture (as the model made it) as it is
        body["scale"] = scale
        reader.fields["scale"] = (node_id, "width")
        return body
    if not width or not height:  # ComfyUI keeps the aspect of the picture it is given when one side is 0
        with PILImage.open(io.BytesIO(reader.picture(pixels.source))) as opened:
            given = (opened.width * scale, opened.height * scale)
        width = width or max(1, round(given[0] * height / given[1]))
        height = height or max(1, round(given[1] * width / given[0]))
    body["width"], body["height"] = width, height
    return body


def _upscaler(reader: Reader, body: dict, field: str, model: str | None, resize: tuple[str, str] | None) -> tuple[float | None, str | None]:
    """``body[field]``: the library upscaler the ``model`` node's loader names (its scale and the loader's
    id returned), or without a model the resampler of the ``resize`` node's ``upscale_method``."""
    if model is not None:
        loader, _, _ = reader.source(model, "upscale_model", "UpscaleModelLoader")
        known = reader.library.upscalers()
        body[field] = reader.choice(loader, "model_name", list(known), field)
        return known[body[field]], loader
    assert resize is not None  # the callers refuse a chain with neither
    node_id, _ = resize
    method = reader.value(node_id, "upscale_method")
    if method not in RESAMPLERS:
        raise reader.fail(node_id, "upscale_method", f"{method} is not painted here: use lanczos or nearest-exact (or an upscale model)")
    body[field] = RESAMPLERS[method]
    reader.fields[field] = (node_id, "upscale_method")
    return None, None
