"""Turn uploaded bytes into an upright, bounded RGB image, safely.

The photo lives only in memory here: nothing is written to storage, the database or the logs.
Order matters for safety: sniff the magic bytes, read only the header, refuse too many pixels,
and only then decode (at reduced scale where the format allows it).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from garden.faces.types import CorruptPhoto, PhotoTooLarge, UnsupportedPhoto

PNG, JPEG, WEBP = "PNG", "JPEG", "WEBP"


def sniff_format(data: bytes) -> str | None:
    """The image format from the magic bytes; the Content-Type header is not trusted."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


@dataclass(frozen=True, slots=True)
class Photo:
    image: Image.Image  # RGB, EXIF orientation applied, longest side <= max_side
    format: str
    original_size: tuple[int, int]  # as stored in the file, before orientation and downscaling


def decode_photo(*, data: bytes, max_pixels: int, max_side: int, max_full_decode_pixels: int | None = None) -> Photo:
    """Decode ``data`` into an upright RGB image no larger than ``max_side`` on its longest side.

    Raises UnsupportedPhoto (not PNG/JPEG/WebP), PhotoTooLarge (a decompression bomb is refused from
    its header, before any pixel is decoded) or CorruptPhoto. JPEGs may have up to ``max_pixels``:
    libjpeg decodes them at 1/2 to 1/8 scale. PNG and WebP are always decoded at full size, so they
    may have up to ``max_full_decode_pixels`` (default: ``max_pixels``), which bounds the work a
    small, highly compressible file can cause.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedPhoto("Send a PNG, JPEG or WebP image.")
    limit = max_pixels if fmt == JPEG or max_full_decode_pixels is None else min(max_pixels, max_full_decode_pixels)
    try:
        # Pillow's own bomb guard is process-global; turning its warning into an error here and
        # checking our own limit first keeps this independent of whatever the global is set to.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width < 1 or height < 1 or width * height > limit:
                raise PhotoTooLarge(f"The {fmt} image is {width}x{height}; at most {limit} pixels are accepted.")
            if fmt == JPEG:
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 12-megapixel photo then costs a
                # fraction of a full decode. EXIF orientation still applies afterwards.
                image.draft("RGB", (max_side, max_side))
            image.load()
            image.getexif()  # read the orientation before shrinking in place
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGB")  # palette, 16-bit, CMYK: resize needs a plain mode
            # Shrink first: transposing and converting then copy a small image, not the original.
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            ImageOps.exif_transpose(image, in_place=True)
            image = image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoTooLarge("Image has too many pixels.") from exc
    except PhotoTooLarge:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Truncated files raise OSError ("image file is truncated"); never log the bytes.
        raise CorruptPhoto(f"Could not decode the {fmt} image (truncated or corrupt).") from exc
    return Photo(image=image, format=fmt, original_size=(width, height))
