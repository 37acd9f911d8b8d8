"""The invisible watermark: the 48 bits diffusers' SDXL pipelines embed (Stability AI's message),
with ``imwatermark``'s ``dwtDctSvd`` method.

Not ``dwtDct``, the method diffusers uses: on procedural 768x512 pictures its mark read back
21-35 of 48 bits from our own JPEG (quality 90), where ``dwtDctSvd`` read 48 of 48 after that
JPEG and a re-save at quality 85 (docs/provenance.md has the command and the figures).

``imwatermark`` imports torch (and OpenCV) when it is imported, so it is imported here only when
a picture is marked or checked: worker code paths, where torch is loaded anyway. A tier installed
without requirements/generation.txt has no ``imwatermark``; ``available()`` says so without importing.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
from PIL import Image as PILImage

METHOD = "dwtDctSvd"
# diffusers/pipelines/stable_diffusion_xl/watermark.py: WATERMARK_MESSAGE and its bits.
MESSAGE = 0b101100111110110010010000011110111011000110011110
BITS = [int(bit) for bit in bin(MESSAGE)[2:]]
# imwatermark refuses pictures under 256x256 pixels in area.
MIN_AREA = 256 * 256
# Bits that may flip and still count as our mark: 48 random bits match 44 or more by chance
# with p ~ 1e-9, and a JPEG re-encode may flip one or two.
MIN_MATCHING_BITS = 44


def available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("imwatermark", "cv2", "pywt", "torch"))


@functools.cache
def _encoder():
    from imwatermark import WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", BITS)
    return encoder


def fits(picture: PILImage.Image) -> bool:
    return picture.width * picture.height >= MIN_AREA


def embed(picture: PILImage.Image) -> PILImage.Image:
    """The picture with the mark in its colour planes (RGB; alpha is the caller's), or the same
    picture when it is too small to carry one."""
    if not fits(picture):
        return picture
    # Float planes, as diffusers passes them: from uint8 the library would truncate its own
    # inverse wavelet transform back into uint8 and lose most of the mark.
    bgr = np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.float32)[:, :, ::-1])
    marked = _encoder().encode(bgr, METHOD)
    return PILImage.fromarray(np.ascontiguousarray(marked[:, :, ::-1]).round().clip(0, 255).astype(np.uint8), "RGB")


def matching_bits(picture: PILImage.Image) -> int | None:
    """How many of the 48 bits decode as ours; None when the picture is too small to carry them."""
    if not fits(picture):
        return None
    from imwatermark import WatermarkDecoder

    bgr = np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.float32)[:, :, ::-1])
    decoded = WatermarkDecoder("bits", len(BITS)).decode(bgr, METHOD)
    return int(sum(int(a) == b for a, b in zip(decoded, BITS, strict=True)))


def detect(picture: PILImage.Image) -> bool:
    matched = matching_bits(picture)
    return matched is not None and matched >= MIN_MATCHING_BITS
