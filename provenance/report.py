"""What a file carries: XMP marking, EXIF parameters, C2PA manifest, watermark."""

from __future__ import annotations

import io
import json

from PIL import Image as PILImage

from provenance import c2pa, watermark, xmp

EXIF_IMAGE_DESCRIPTION = 0x010E
NO_REGION = "an edit whose repainted region was too small for the mark (or it was off): XMP and C2PA say it"


def _exif_parameters(picture: PILImage.Image) -> dict | None:
    raw = picture.getexif().get(EXIF_IMAGE_DESCRIPTION)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _box(value, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """``value`` as an (x, y, width, height) box inside a picture of ``size``, else None."""
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return None
    x, y, w, h = value
    return (x, y, w, h) if x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= size[0] and y + h <= size[1] else None


def _watermark(picture: PILImage.Image, parameters: dict | None) -> dict:
    if not watermark.available():
        return {"checked": False, "reason": "OpenCV is not installed (requirements/generation.txt)"}
    region = None
    if parameters is not None and watermark.REGION_PARAMETER in parameters:
        # An edit carries the mark only in the box it repainted, and says which.
        recorded = parameters[watermark.REGION_PARAMETER]
        region = _box(recorded, picture.size)
        if region is None:
            if recorded is None:
                return {"checked": False, "reason": NO_REGION}
            return {"checked": False, "reason": f"the recorded region {recorded!r} is not inside the picture"}
        x, y, w, h = region
        picture = picture.crop((x, y, x + w, y + h))
    matched = watermark.matching_bits(picture)
    if matched is None:
        return {"checked": False, "reason": f"smaller than {watermark.MIN_AREA} pixels in area"}
    found = {"checked": True, "found": matched >= watermark.MIN_MATCHING_BITS, "matching_bits": matched, "of": len(watermark.BITS)}
    return {**found, "region": list(region)} if region else found


def describe(content: bytes) -> dict:
    with PILImage.open(io.BytesIO(content)) as picture:
        picture.load()
        image_format, size = picture.format, picture.size
        parameters = _exif_parameters(picture)
        marked = _watermark(picture, parameters)
    return {
        "format": image_format,
        "size": list(size),
        "xmp": xmp.read_fields(xmp.raw_packet(content)) or None,
        "parameters": parameters,
        "c2pa": c2pa.read(content),
        "watermark": marked,
    }
