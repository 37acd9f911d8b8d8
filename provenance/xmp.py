"""The XMP packet that says a picture is AI-made: IPTC Digital Source Type, software, model.

Pillow writes XMP itself for JPEG (APP1) and WebP (XMP chunk) through ``save(..., xmp=...)``;
for PNG it has no such option, so the packet goes into the iTXt chunk ``XML:com.adobe.xmp``,
where exiftool, Adobe and browsers look for it.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from xml.sax.saxutils import escape, unescape

from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"
COMPOSITE = IPTC_SOURCE_TYPES + "compositeWithTrainedAlgorithmicMedia"
ALGORITHMIC = IPTC_SOURCE_TYPES + "algorithmicMedia"
SOFTWARE = "Emotion Garden"
PNG_XMP_KEY = "XML:com.adobe.xmp"

_PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    Iptc4xmpExt:DigitalSourceType="{source_type}"
    Iptc4xmpExt:AISystemUsed="{model}"
    xmp:CreatorTool="{software}"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""


def build_packet(*, source_type: str, model: str, software: str = SOFTWARE) -> bytes:
    values = {
        name: escape(value, {'"': "&quot;"}) for name, value in (("source_type", source_type), ("model", model), ("software", software))
    }
    return _PACKET.format(**values).encode("utf-8")


def save_options(image_format: str, packet: bytes, *, pnginfo: PngInfo | None = None) -> dict:
    """The keyword arguments that make ``PIL.Image.save`` write ``packet`` in this format (for PNG,
    added to ``pnginfo`` when the caller has other chunks to write)."""
    if image_format.upper() == "PNG":
        info = pnginfo if pnginfo is not None else PngInfo()
        # Uncompressed iTXt: readers that scan for the packet (and exiftool) find it as is.
        info.add_itxt(PNG_XMP_KEY, packet.decode("utf-8"), zip=False)
        return {"pnginfo": info}
    return {"xmp": packet}


def raw_packet(content: bytes) -> bytes:
    """The XMP packet of a JPEG, PNG or WebP file as Pillow reads it; b"" when it has none."""
    with PILImage.open(io.BytesIO(content)) as picture:
        value = picture.info.get("xmp") or b""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


_FIELDS = {
    "digital_source_type": "Iptc4xmpExt:DigitalSourceType",
    "model": "Iptc4xmpExt:AISystemUsed",
    "software": "xmp:CreatorTool",
}


def read_fields(packet: bytes) -> dict:
    """The fields ``build_packet`` writes, whether written as attributes or as elements (as other
    tools rewrite them); absent ones are left out."""
    text = packet.decode("utf-8", "replace")
    found = {}
    for field, tag in _FIELDS.items():
        match = re.search(rf'{re.escape(tag)}="([^"]*)"', text) or re.search(rf"<{re.escape(tag)}>([^<]*)</", text)
        if match:
            found[field] = unescape(match.group(1), {"&quot;": '"'})
    return found


# What starts an XMP APP1 segment in a JPEG (Adobe XMP spec, part 3).
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def insert_packet(content: bytes, packet: bytes) -> bytes | None:
    """``content`` with ``packet`` added as metadata, its other bytes (the compressed pixels, EXIF,
    other chunks) unchanged: a JPEG APP1 segment after the APP0/APP1 ones, a PNG iTXt chunk before
    the first IDAT, a WebP ``XMP `` chunk (extended files, with a VP8X header, only). None for any
    other file, or a WebP without VP8X (it would need re-encoding: not done here)."""
    if content.startswith(b"\xff\xd8"):
        return _insert_jpeg(content, packet)
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return _insert_png(content, packet)
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP" and content[12:16] == b"VP8X":
        chunk = b"XMP " + struct.pack("<I", len(packet)) + packet + (b"\x00" if len(packet) % 2 else b"")
        out = bytearray(content + chunk)
        out[20] |= 0x04  # the VP8X XMP flag
        out[4:8] = struct.pack("<I", len(out) - 8)
        return bytes(out)
    return None


def _insert_jpeg(content: bytes, packet: bytes) -> bytes | None:
    body = JPEG_XMP_HEADER + packet
    if len(body) + 2 > 0xFFFF:
        return None
    at = 2
    # Past APP0 (JFIF) and APP1 (EXIF) segments: XMP goes after them, before the image's tables.
    while at + 4 <= len(content) and content[at] == 0xFF and content[at + 1] in (0xE0, 0xE1):
        at += 2 + struct.unpack(">H", content[at + 2 : at + 4])[0]
    if at + 2 > len(content) or content[at] != 0xFF:
        return None
    return content[:at] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + content[at:]


def _insert_png(content: bytes, packet: bytes) -> bytes | None:
    data = PNG_XMP_KEY.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + packet
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data) & 0xFFFFFFFF)
    at = 8
    while at + 8 <= len(content):
        length, kind = struct.unpack(">I", content[at : at + 4])[0], content[at + 4 : at + 8]
        if kind == b"IDAT":
            return content[:at] + chunk + content[at:]
        at += 12 + length
    return None
