"""Encode generated pictures as files that carry their generation parameters.

The parameters go into EXIF ImageDescription as JSON (readable by any EXIF tool and by
``read_parameters``), so a file found alone still says how it was made. Generated gardens are
JPEG; retouched pictures are PNG (lossless: their untouched pixels stay the source's).
"""

from __future__ import annotations

import io
import json

from PIL import Image as PILImage

EXIF_IMAGE_DESCRIPTION = 0x010E
EXIF_SOFTWARE = 0x0131
SOFTWARE = "Emotion Garden"


def _exif(parameters: dict) -> bytes:
    exif = PILImage.Exif()
    exif[EXIF_IMAGE_DESCRIPTION] = json.dumps(parameters, sort_keys=True, ensure_ascii=True)
    exif[EXIF_SOFTWARE] = SOFTWARE
    return exif.tobytes()


def encode_jpeg(picture: PILImage.Image, parameters: dict, *, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True, exif=_exif(parameters))
    return buffer.getvalue()


def encode_png(picture: PILImage.Image, parameters: dict) -> bytes:
    """Lossless (RGB, or RGBA when the source had transparency); compress_level 6 trades little size for speed."""
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=6, exif=_exif(parameters))
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


def as_rgb(picture: PILImage.Image) -> tuple[PILImage.Image, PILImage.Image | None]:
    """The colour planes (to repaint, or to start an img2img from), and the alpha plane to carry over
    untouched (None if opaque). Retouching uses it too (retouch.imaging re-exports it)."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    return picture.convert("RGB"), None
