"""What a file carries: XMP marking, EXIF parameters, C2PA manifest, watermark."""

from __future__ import annotations

import io
import json

from PIL import Image as PILImage

from provenance import c2pa, watermark, xmp

EXIF_IMAGE_DESCRIPTION = 0x010E


def _exif_parameters(picture: PILImage.Image) -> dict | None:
    raw = picture.getexif().get(EXIF_IMAGE_DESCRIPTION)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _watermark(picture: PILImage.Image) -> dict:
    if not watermark.available():
        return {"checked": False, "reason": "OpenCV is not installed (requirements/generation.txt)"}
    matched = watermark.matching_bits(picture)
    if matched is None:
        return {"checked": False, "reason": f"smaller than {watermark.MIN_AREA} pixels in area"}
    return {"checked": True, "found": matched >= watermark.MIN_MATCHING_BITS, "matching_bits": matched, "of": len(watermark.BITS)}


def describe(content: bytes) -> dict:
    with PILImage.open(io.BytesIO(content)) as picture:
        picture.load()
        image_format, size = picture.format, picture.size
        parameters = _exif_parameters(picture)
        marked = _watermark(picture)
    return {
        "format": image_format,
        "size": list(size),
        "xmp": xmp.read_fields(xmp.raw_packet(content)) or None,
        "parameters": parameters,
        "c2pa": c2pa.read(content),
        "watermark": marked,
    }
