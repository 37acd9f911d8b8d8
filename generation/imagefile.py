"""Encode generated pictures as JPEG files that carry their generation parameters.

The parameters go into EXIF ImageDescription as JSON (readable by any EXIF tool and by
``read_parameters``), so a file found alone still says how it was made.
"""

from __future__ import annotations

import io
import json

from PIL import Image as PILImage

EXIF_IMAGE_DESCRIPTION = 0x010E
EXIF_SOFTWARE = 0x0131
SOFTWARE = "Emotion Garden"


def encode_jpeg(picture: PILImage.Image, parameters: dict, *, quality: int = 90) -> bytes:
    exif = PILImage.Exif()
    exif[EXIF_IMAGE_DESCRIPTION] = json.dumps(parameters, sort_keys=True, ensure_ascii=True)
    exif[EXIF_SOFTWARE] = SOFTWARE
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True, exif=exif.tobytes())
    return buffer.getvalue()


def read_parameters(content: bytes) -> dict:
    """The parameters embedded by ``encode_jpeg``; {} for files without them."""
    with PILImage.open(io.BytesIO(content)) as picture:
        raw = picture.getexif().get(EXIF_IMAGE_DESCRIPTION)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
