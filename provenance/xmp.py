"""The XMP packet that says a picture is AI-made: IPTC Digital Source Type, software, model.

Pillow writes XMP itself for JPEG (APP1) and WebP (XMP chunk) through ``save(..., xmp=...)``;
for PNG it has no such option, so the packet goes into the iTXt chunk ``XML:com.adobe.xmp``,
where exiftool, Adobe and browsers look for it.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

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
            found[field] = _unescape(match.group(1))
    return found


def _unescape(value: str) -> str:
    return value.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
