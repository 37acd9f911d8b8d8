"""generation.imagefile.finish_jpeg: EXIF and XMP spliced into encoded JPEG bytes without
re-encoding, byte for byte what ``encode_jpeg`` writes, read back by Pillow, our readers, exiftool
and C2PA's reader."""

import io
import json

import pytest
from PIL import Image

from generation.backends import procedural
from generation.imagefile import EXIF_IMAGE_DESCRIPTION, encode_jpeg, finish_jpeg, jpeg_metadata, read_parameters
from provenance import c2pa, xmp
from tests.provenance.test_provenance import DIFFUSION, PROCEDURAL, exiftool, needs_exiftool, signing  # noqa: F401 (fixture)

pytestmark = pytest.mark.backend_free
QUOTED = {**DIFFUSION, "prompt": 'a "tulip" <garden> & é ☀', "model": "dream & <shaper>"}


def plain(picture: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("parameters", [PROCEDURAL, DIFFUSION, QUOTED])
@pytest.mark.parametrize("optimize", [True, False])
def test_the_splice_is_encode_jpegs_file_byte_for_byte(parameters, optimize):
    picture = procedural.paint(emotion="calm", favorite="tulip", seed=2, width=320, height=256)
    spliced = finish_jpeg(plain(picture, optimize=optimize), parameters)
    assert spliced == encode_jpeg(picture, parameters, watermark=False, optimize=optimize)
    assert read_parameters(spliced) == parameters
    opened = Image.open(io.BytesIO(spliced))
    assert json.loads(opened.getexif()[EXIF_IMAGE_DESCRIPTION]) == parameters
    assert xmp.read_fields(xmp.raw_packet(spliced))["model"] == str(parameters.get("model") or parameters["model_id"])


def test_a_file_without_jfif_gets_the_segments_after_soi_and_other_bytes_are_refused():
    content = plain(Image.new("RGB", (16, 16), (1, 2, 3)))
    assert content[2:4] == b"\xff\xe0"
    bare = content[:2] + content[4 + int.from_bytes(content[4:6], "big") - 2 :]
    spliced = finish_jpeg(bare, PROCEDURAL)
    assert spliced == bare[:2] + jpeg_metadata(PROCEDURAL) + bare[2:]
    assert read_parameters(spliced) == PROCEDURAL and Image.open(io.BytesIO(spliced)).size == (16, 16)
    with pytest.raises(ValueError, match="not a JPEG"):
        finish_jpeg(b"\x89PNG\r\n\x1a\n", PROCEDURAL)
    with pytest.raises(ValueError, match="too long"):
        jpeg_metadata({"prompt": "x" * 70_000})


@pytest.mark.usefixtures("signing")
def test_a_spliced_file_is_signed_when_a_certificate_is_configured():
    content = finish_jpeg(plain(Image.new("RGB", (64, 64), (9, 9, 9))), DIFFUSION)
    manifest = c2pa.read(content)
    assert manifest["validation_state"] == "Valid" and manifest["failures"] == ["signingCredential.untrusted"]
    assert read_parameters(content) == DIFFUSION and xmp.read_fields(xmp.raw_packet(content))["digital_source_type"] == xmp.TRAINED


@needs_exiftool
def test_exiftool_reads_the_spliced_metadata(tmp_path):
    tags = exiftool(tmp_path, finish_jpeg(plain(Image.new("RGB", (64, 64))), QUOTED), "jpg")
    assert json.loads(tags["ImageDescription"]) == QUOTED
    assert tags["AISystemUsed"] == QUOTED["model"] and tags["CreatorTool"] == xmp.SOFTWARE
