"""Finishing on the card: a decoded batch checked, watermarked and encoded where it was decoded.

``finish_batch`` takes the pipeline's pictures as a tensor (``(B, 3, H, W)``, RGB, floats 0…1 as
``output_type="pt"`` gives them, or uint8 0…255) on any device and returns, per picture, a ``Rendered``
(generation.worker.rendered.Rendered: the JPEG bytes to store and the safety verdict), so only bytes and scores leave the card:

1. the 8-bit pixels, as diffusers makes them for PIL (``(x * 255).round()``);
2. the image check on the unmarked pixels (safety.nsfw_tensors: the model's input equals the CPU
   path's bit for bit), scored by the process's classifier (torch on a GPU, onnxruntime on a CPU);
3. the watermark (provenance.watermark_torch: within a level of the numpy one);
4. JPEG: torchvision's ``encode_jpeg`` for a batch on a CUDA device (nvjpeg, one call), else
   Pillow per picture; ``device_jpeg_off`` says why the card does not encode (logs, status);
5. EXIF/XMP (and C2PA when configured) spliced into the bytes (generation.imagefile.finish_jpeg).

Pillow's JPEG of the same pixels is byte for byte what ``imagefile.encode_jpeg`` writes; the
verdicts are ``safety.images.check_picture``'s (tests/generation/test_card_finishing.py). The rows,
the storage and the job rows are the caller's. torch is imported only when called.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from importlib import metadata

from django.conf import settings
from PIL import Image as PILImage

from config.caches import memoized
from generation.imagefile import finish_jpeg
from generation.planning import ImageSpec, image_key
from generation.worker.rendered import Rendered
from generation.worker.storing import generation_parameters
from safety import images as safety_images

log = logging.getLogger(__name__)

# torchvision encodes CUDA tensors (and lists of them) from this version (pytorch/vision#8391).
DEVICE_JPEG_SINCE = (0, 19)


def wanted(backend) -> bool:
    """Whether a gathered call's pictures stay tensors and are finished where they were painted
    (GARDEN_CARD_FINISHING: ``auto`` where the model lies on a CUDA device, ``on`` wherever the
    backend paints tensors, ``off`` never)."""
    mode = settings.GARDEN_CARD_FINISHING
    if mode == "off" or not hasattr(backend, "generate_tensors"):
        return False
    if mode == "on":
        return True
    return str(getattr(backend, "pipeline_device", "")).startswith("cuda")


def device_jpeg_off(device) -> str:
    """Why a batch on ``device`` is not JPEG-encoded on it ("" when it is): torchvision missing or
    too old, or a device other than CUDA (Pillow encodes it)."""
    try:
        version = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        return "torchvision is not installed: Pillow encodes the JPEG on the CPU"
    numbers = tuple(int(part) for part in version.split("+")[0].split(".")[:2] if part.isdigit())
    if numbers < DEVICE_JPEG_SINCE:
        return f"torchvision {version} cannot encode on the card (0.19 or later can): Pillow encodes the JPEG"
    if getattr(device, "type", str(device).split(":")[0]) != "cuda":
        return f"the pictures are on {device}: Pillow encodes the JPEG"
    return ""


@memoized(key="the device's name", fresh="nothing: a device's JPEG path is fixed for the process", maxsize=8)
def _say_jpeg_path(device: str) -> None:
    """Once per process and device: where its JPEGs are encoded, and why not on the card."""
    reason = device_jpeg_off(device)
    log.info("finishing on %s: JPEG %s", device, f"by Pillow ({reason})" if reason else "on the card (torchvision)")


def pixels_of(batch):
    """The batch as 8-bit values in float32 (B, 3, H, W): uint8 as is, floats 0…1 as diffusers
    rounds them for PIL."""
    import torch

    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) RGB batch, got {tuple(batch.shape)}")
    if batch.dtype == torch.uint8:
        return batch.to(torch.float32)
    return (batch.to(torch.float32).clamp(0, 1) * 255).round()


def verdicts(pixels, diffusers_nsfw: list[bool | None]) -> list[safety_images.Verdict]:
    """``check_picture``'s verdict per picture of an 8-bit (B, 3, H, W) batch, counted as it counts them."""
    if not settings.GARDEN_SAFETY_IMAGE_CHECK:
        return [safety_images.count(safety_images.OFF) for _ in diffusers_nsfw]
    try:
        from safety.nsfw_tensors import preprocess

        scores = safety_images.nsfw_scores(preprocess(pixels))
    except Exception as exc:  # as check_picture: a check that cannot run stores the pictures unchecked
        failed = safety_images.failed(exc)
        return [safety_images.count(failed) for _ in diffusers_nsfw]
    return [safety_images.count(safety_images.verdict_for(score, flag)) for score, flag in zip(scores, diffusers_nsfw, strict=True)]


def marked(pixels, watermark: bool | None = None):
    """The batch as uint8, with the invisible watermark when ``watermark`` (None:
    GARDEN_PROVENANCE_WATERMARK) asks for it and the pictures are large enough to carry it."""
    import torch

    if not (settings.GARDEN_PROVENANCE_WATERMARK if watermark is None else watermark):
        return pixels.clamp(0, 255).to(torch.uint8)
    from provenance import watermark_torch

    return watermark_torch.embed_uint8(pixels)


def encode(batch, *, quality: int = 90, optimize: bool = False) -> list[bytes]:
    """Plain JPEG bytes per picture of a uint8 (B, 3, H, W) batch: on the card when
    ``device_jpeg_off`` allows, else Pillow (``optimize``: its optimized Huffman tables)."""
    if not device_jpeg_off(batch.device):
        try:
            return _encode_on_card(batch, quality)
        except (ImportError, OSError, RuntimeError):  # a torchvision built for another torch, nvjpeg missing
            log.warning("torchvision could not encode on %s: Pillow encodes the JPEG", batch.device, exc_info=True)
    files = []
    for planes in batch.cpu().numpy():  # Pillow interleaves the planes faster than a permuted copy
        buffer = io.BytesIO()
        PILImage.merge("RGB", [PILImage.fromarray(plane) for plane in planes]).save(buffer, "JPEG", quality=quality, optimize=optimize)
        files.append(buffer.getvalue())
    return files


def _encode_on_card(batch, quality: int) -> list[bytes]:
    import torch
    from torchvision.io import encode_jpeg

    torch.cuda.current_stream(batch.device).synchronize()  # nvjpeg runs on its own stream (vision#9606)
    return [bytes(encoded.cpu().numpy()) for encoded in encode_jpeg(list(batch), quality=quality)]


def finish_batch(
    batch,
    parameters: list[dict],
    *,
    diffusers_nsfw: list[bool | None] | None = None,
    watermark: bool | None = None,
    quality: int = 90,
    optimize: bool = False,
    metadata: bool = True,
) -> list[Rendered]:
    """The stored file and verdict per picture of a decoded batch (module docstring).
    ``parameters``: each picture's EXIF parameters (generation.worker.storing.generation_parameters);
    ``diffusers_nsfw``: the model's own checker's flags, if it ran; ``optimize``: as
    ``imagefile.encode_jpeg``'s (the worker never asks for it); ``metadata=False``: the bare JPEG
    (``Rendered.bare``, as ``render_on_card`` asks), its EXIF/XMP spliced in when it is stored
    (``storing.save_rendered_image``, in a finishing process or inline). Call it from one thread per
    device (torchvision's CUDA encoder is not thread-safe: vision#8587)."""
    import torch

    if len(parameters) != len(batch):
        raise ValueError(f"{len(batch)} pictures but {len(parameters)} parameter sets")
    flags = list(diffusers_nsfw) if diffusers_nsfw is not None else [None] * len(batch)
    _say_jpeg_path(str(batch.device))
    with torch.inference_mode():
        pixels = pixels_of(batch)
        checked = verdicts(pixels, flags)
        files = encode(marked(pixels, watermark), quality=quality, optimize=optimize)
    return [
        Rendered(finish_jpeg(content, picture) if metadata else content, verdict, parameters=picture, bare=not metadata)
        for content, picture, verdict in zip(files, parameters, checked, strict=True)
    ]


def render_on_card(*, jobs: list, specs: list[ImageSpec], pictures, description: dict) -> list[Rendered]:
    """A call's decoded pictures (a ``(B, 3, H, W)`` tensor on the card) checked, watermarked and
    encoded where they lie; only bytes and verdicts leave the device."""
    parameters = [generation_parameters(job=job, spec=spec, description=description) for job, spec in zip(jobs, specs, strict=True)]
    finished = finish_batch(pictures, parameters, metadata=False)
    return [replace(done, key=image_key(job=job, spec=spec)) for job, spec, done in zip(jobs, specs, finished, strict=True)]
