"""Encode generated pictures as files that carry their generation parameters.

The parameters go into EXIF ImageDescription as JSON (readable by any EXIF tool and by
``read_parameters``), so a file found alone still says how it was made. Generated gardens are
JPEG; edits of a picture (kinds registered as PNG, generation.kinds) are PNG (lossless: their
untouched pixels stay the source's).

Each file also says it is AI-made (docs/provenance.md): an XMP packet with the IPTC digital
source type and the model, an invisible watermark in the pixels (where the watermark library is
installed: the workers), and a signed C2PA manifest when a signing certificate is configured.
"""

from __future__ import annotations

import io
import json
import logging
import struct

from django.conf import settings
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from config.caches import memoized
from generation import served_names
from provenance import c2pa, watermark, xmp

log = logging.getLogger(__name__)

EXIF_IMAGE_DESCRIPTION = 0x010E
EXIF_SOFTWARE = 0x0131
SOFTWARE = xmp.SOFTWARE
PROCEDURAL = "procedural"
_MAX_SEGMENT = 0xFFFF - 2  # a JPEG segment's body: its length field counts itself


def _exif(parameters: dict) -> bytes:
    exif = PILImage.Exif()
    exif[EXIF_IMAGE_DESCRIPTION] = json.dumps(parameters, sort_keys=True, ensure_ascii=True)
    exif[EXIF_SOFTWARE] = SOFTWARE
    return exif.tobytes()


def source_type_for(parameters: dict) -> str:
    """The IPTC digital source type: the one a registered kind names for its pictures (an edit of a
    photo: composite), else the procedural painter's are algorithmic and the rest (diffusion)
    trained algorithmic media. Read from the parameters, so a file stored before provenance gets
    the same (``manage.py mark_provenance``)."""
    from generation import kinds  # here: the encoders stay importable without the models (pure image code)

    kind = kinds.get(parameters.get("kind"))
    if kind is not None and kind.source_type:
        return kind.source_type
    if parameters.get("generator") == PROCEDURAL:
        return xmp.ALGORITHMIC
    return xmp.TRAINED


def model_for(parameters: dict) -> str:
    """The model as A1111 titles it: ``name [short hash]`` (the hash when the library knows it)."""
    model = parameters.get("model") or served_names.model_id(str(parameters.get("model_id") or ""))
    model = str(model or parameters.get("generator") or "")
    return f"{model} [{parameters['model_hash']}]" if parameters.get("model_hash") and model else model


def watermark_wanted(watermark_on: bool | None = None) -> bool:
    """Whether a picture gets the invisible watermark: ``watermark_on``, None following
    GARDEN_PROVENANCE_WATERMARK, and OpenCV installed (a warning, once, when it is not)."""
    if not (settings.GARDEN_PROVENANCE_WATERMARK if watermark_on is None else watermark_on):
        return False
    if not watermark.available():
        _warn_no_watermark()
        return False
    return True


def _watermarked(picture: PILImage.Image, watermark_on: bool | None) -> PILImage.Image:
    if not watermark_wanted(watermark_on):
        return picture
    rgb, alpha = as_rgb(picture)
    marked = watermark.embed(rgb)
    if alpha is not None:
        marked.putalpha(alpha)
    return marked


@memoized(key="nothing", fresh="none: warns once per process")
def _warn_no_watermark() -> None:
    # Once per process: a tier without requirements/generation.txt would say it on every picture.
    log.warning("GARDEN_PROVENANCE_WATERMARK is on but OpenCV is not installed (requirements/generation.txt): no watermark")


def _encode(picture: PILImage.Image, parameters: dict, image_format: str, *, ingredient: bytes | None, **options) -> bytes:
    source_type, model = source_type_for(parameters), model_for(parameters)
    buffer = io.BytesIO()
    packet = xmp.build_packet(source_type=source_type, model=model)
    picture.save(buffer, image_format, exif=_exif(parameters), **xmp.save_options(image_format, packet), **options)
    return _signed(buffer.getvalue(), image_format, source_type, model, ingredient)


def _signed(content: bytes, image_format: str, source_type: str, model: str, ingredient: bytes | None) -> bytes:
    config = c2pa.configured()
    if config is None:
        return content
    return c2pa.sign(
        content,
        image_format=image_format,
        source_type=source_type,
        model=model,
        software=SOFTWARE,
        config=config,
        ingredient=ingredient,
    )


def encode_jpeg(
    picture: PILImage.Image,
    parameters: dict,
    *,
    quality: int = 90,
    watermark: bool | None = None,
    ingredient: bytes | None = None,
    optimize: bool = True,
) -> bytes:
    """``watermark``: None follows GARDEN_PROVENANCE_WATERMARK. ``ingredient``: the source file of
    an edit, recorded in the C2PA manifest when one is signed. ``optimize``: the optimized Huffman
    tables (a few % smaller, about twice the encoding time; live pictures go without)."""
    picture = _watermarked(picture.convert("RGB"), watermark)
    return _encode(picture, parameters, "JPEG", ingredient=ingredient, quality=quality, optimize=optimize)


def jpeg_metadata(parameters: dict) -> bytes:
    """The APP1 segments ``encode_jpeg`` writes after the JFIF header, byte for byte: EXIF (the
    parameters, the software), then the XMP packet (Pillow's JpegImagePlugin layout)."""
    exif = _exif(parameters)
    packet = xmp.JPEG_XMP_HEADER + xmp.build_packet(source_type=source_type_for(parameters), model=model_for(parameters))
    if len(exif) > _MAX_SEGMENT or len(packet) > _MAX_SEGMENT:
        raise ValueError("EXIF or XMP data is too long for a JPEG segment")  # what Pillow's save raises
    return b"".join(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body for body in (exif, packet))


def finish_jpeg(content: bytes, parameters: dict, *, ingredient: bytes | None = None) -> bytes:
    """Encoded JPEG bytes (Pillow's, or torchvision's on a GPU) with what ``encode_jpeg`` adds to
    its pixels: the metadata segments spliced in after SOI and any APP0 (JFIF) segments, no
    re-encoding, and the C2PA manifest when one is configured. The pixels are the caller's (the
    watermark is theirs too: provenance.watermark_torch on GPU workers)."""
    if not content.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG file")
    at = 2
    while at + 4 <= len(content) and content[at] == 0xFF and content[at + 1] == 0xE0:
        at += 2 + struct.unpack(">H", content[at + 2 : at + 4])[0]
    spliced = content[:at] + jpeg_metadata(parameters) + content[at:]
    return _signed(spliced, "JPEG", source_type_for(parameters), model_for(parameters), ingredient)


def encode_png(picture: PILImage.Image, parameters: dict, *, watermark: bool | None = None, ingredient: bytes | None = None) -> bytes:
    """Lossless (RGB, or RGBA when the source had transparency); compress_level 6 trades little size for speed.
    ``watermark`` as ``encode_jpeg``'s (an edit that marks only what it repainted passes False)."""
    return _encode(_watermarked(picture, watermark), parameters, "PNG", ingredient=ingredient, compress_level=6)


def encode_webp(picture: PILImage.Image, parameters: dict, *, quality: int = 90, watermark: bool | None = None) -> bytes:
    return _encode(_watermarked(picture, watermark), parameters, "WEBP", ingredient=None, quality=quality)


def packet_of(picture: PILImage.Image) -> bytes:
    """The XMP packet an opened file carries, or one built from its EXIF parameters (files stored
    before provenance, ``manage.py mark_provenance``); b"" when it has neither."""
    packet = picture.info.get("xmp") or b""
    if packet:
        return packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    parameters = _parameters(picture.getexif().get(EXIF_IMAGE_DESCRIPTION))
    if not parameters:
        return b""
    return xmp.build_packet(source_type=source_type_for(parameters), model=model_for(parameters))


def xmp_save_options(picture: PILImage.Image, image_format: str, *, pnginfo: PngInfo | None = None) -> dict:
    """``save`` options that write ``packet_of(picture)`` into a re-encode of it (``{}``, or just
    ``pnginfo``, when there is none)."""
    packet = packet_of(picture)
    if not packet:
        return {"pnginfo": pnginfo} if pnginfo is not None else {}
    return xmp.save_options(image_format, packet, pnginfo=pnginfo)


def read_parameters(content: bytes) -> dict:
    """The parameters embedded by ``encode_jpeg``; {} for files without them."""
    with PILImage.open(io.BytesIO(content)) as picture:
        return _parameters(picture.getexif().get(EXIF_IMAGE_DESCRIPTION))


def _parameters(raw) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def as_rgb(picture: PILImage.Image) -> tuple[PILImage.Image, PILImage.Image | None]:
    """The colour planes (to repaint, or to start an img2img from), and the alpha plane to carry over
    untouched (None if opaque). Apps that edit pictures use it too."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    return picture.convert("RGB"), None
