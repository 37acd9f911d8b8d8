"""Provenance in written files: XMP read by exiftool, a C2PA manifest read by c2pa-python's
Reader, the watermark through a JPEG re-save, and ``manage.py provenance`` reporting each."""

import functools
import http.server
import io
import json
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
from django.core.checks import Info, Warning, registry
from django.core.management import CommandError, call_command
from PIL import Image

from garden.thumbnails import render_thumbnail
from generation.backends import procedural
from generation.imagefile import encode_jpeg, encode_png, encode_webp, read_parameters
from provenance import c2pa, checks, watermark, xmp
from provenance.certs import make_test_chain

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

PROCEDURAL = {"generator": "procedural", "model_id": "procedural-painter-v1", "seed": 3, "width": 768, "height": 512}
DIFFUSION = {"generator": "diffusers", "model_id": "/models/sd15", "model": "dreamshaper-8", "seed": 4}
RETOUCH = {"generator": "diffusers", "model_id": "/models/sd15-inpaint", "kind": "retouch", "seed": 5}
needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool is not installed (apt-get install libimage-exiftool-perl)"
)


@functools.cache
def painted() -> Image.Image:
    return procedural.paint(emotion="happy", favorite="tulip", seed=3, width=768, height=512)


def exiftool(tmp_path, content: bytes, suffix: str) -> dict:
    path = tmp_path / f"picture.{suffix}"
    path.write_bytes(content)
    tags = ["-XMP-iptcExt:DigitalSourceType", "-XMP-iptcExt:AISystemUsed", "-XMP-xmp:CreatorTool", "-EXIF:ImageDescription"]
    result = subprocess.run(["exiftool", "-json", *tags, str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


@pytest.fixture
def signing(settings, tmp_path):
    chain, key = make_test_chain()
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = str(tmp_path / "chain.pem"), str(tmp_path / "key.pem")


@needs_exiftool
@pytest.mark.parametrize(
    ("encode", "suffix", "parameters", "source_type", "model"),
    [
        (encode_jpeg, "jpg", PROCEDURAL, xmp.ALGORITHMIC, "procedural-painter-v1"),
        (encode_png, "png", RETOUCH, xmp.COMPOSITE, "sd15-inpaint"),  # the model by name, never its server path
        (encode_webp, "webp", DIFFUSION, xmp.TRAINED, "dreamshaper-8"),
    ],
)
def test_exiftool_reads_the_source_type_the_encoders_write(tmp_path, encode, suffix, parameters, source_type, model):
    content = encode(painted(), parameters, watermark=False)
    tags = exiftool(tmp_path, content, suffix)
    assert (tags["DigitalSourceType"], tags["AISystemUsed"], tags["CreatorTool"]) == (source_type, model, "Emotion Garden")
    assert json.loads(tags["ImageDescription"]) == parameters == read_parameters(content)


@needs_exiftool
def test_thumbnails_keep_the_xmp(tmp_path):
    thumbnail = render_thumbnail(encode_jpeg(painted(), DIFFUSION, watermark=False))
    tags = exiftool(tmp_path, thumbnail, "webp")
    assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"
    assert (tags["DigitalSourceType"], tags["AISystemUsed"], tags["CreatorTool"]) == (xmp.TRAINED, "dreamshaper-8", "Emotion Garden")


def test_a_signed_manifest_is_intact_and_untrusted(signing):
    content = encode_jpeg(painted(), PROCEDURAL, watermark=False)
    manifest = c2pa.read(content)
    # A private root is on no trust list: the signature and hashes check out, the signer is unknown.
    assert manifest["validation_state"] == "Valid"
    assert manifest["failures"] == ["signingCredential.untrusted"]
    assert manifest["actions"] == [{"action": "c2pa.created", "digital_source_type": xmp.ALGORITHMIC}]
    assert (manifest["signer"], manifest["claim_generator"], manifest["ingredients"]) == (
        "Emotion Garden C2PA signer",
        ["Emotion Garden"],
        [],
    )
    # Signing keeps what the encoder wrote before it.
    assert read_parameters(content) == PROCEDURAL and xmp.read_fields(xmp.raw_packet(content))["digital_source_type"] == xmp.ALGORITHMIC


def test_an_edit_records_its_source_and_a_changed_file_is_invalid(signing):
    source = encode_jpeg(painted(), PROCEDURAL, watermark=False)
    content = encode_png(painted().rotate(180), RETOUCH, watermark=False, ingredient=source)
    manifest = c2pa.read(content)
    assert manifest["actions"] == [
        {"action": "c2pa.opened", "digital_source_type": None},  # the source picture, as C2PA wants first
        {"action": "c2pa.edited", "digital_source_type": xmp.COMPOSITE},
    ]
    assert (manifest["validation_state"], manifest["ingredients"]) == ("Valid", ["source"])
    # One pixel changed (the last bytes of the JPEG's scan data) after signing breaks the data hash.
    tampered = bytearray(source)
    tampered[-10] ^= 0xFF
    changed = c2pa.read(bytes(tampered))
    assert changed["validation_state"] == "Invalid" and "assertion.dataHash.mismatch" in changed["failures"]


def test_no_manifest_without_a_certificate():
    assert c2pa.read(encode_jpeg(painted(), PROCEDURAL, watermark=False)) is None


def test_the_watermark_survives_a_jpeg_resave_at_quality_85(settings):
    settings.GARDEN_PROVENANCE_WATERMARK = True
    content = encode_jpeg(painted(), PROCEDURAL)
    stored = Image.open(io.BytesIO(content))
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=85)
    resaved = Image.open(io.BytesIO(buffer.getvalue()))
    assert watermark.matching_bits(stored) == watermark.matching_bits(resaved) == 48
    assert not watermark.detect(painted())  # the unmarked painting does not read as ours


def library_bits(picture: Image.Image) -> int:
    """How many of our 48 bits imwatermark's own decoder reads."""
    imwatermark = pytest.importorskip("imwatermark")
    bgr = np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.float32)[:, :, ::-1])
    decoded = imwatermark.WatermarkDecoder("bits", 48).decode(bgr, "dwtDctSvd")
    return sum(int(a) == b for a, b in zip(decoded, watermark.BITS, strict=True))


def resaved(picture: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_imwatermark_reads_our_mark_from_the_picture_our_jpeg_and_a_resave(settings):
    settings.GARDEN_PROVENANCE_WATERMARK = True
    marked = watermark.embed(painted())
    stored = Image.open(io.BytesIO(encode_jpeg(painted(), PROCEDURAL)))
    assert library_bits(marked) == library_bits(stored) == library_bits(resaved(stored, 85)) == 48
    assert library_bits(painted()) < watermark.MIN_MATCHING_BITS


@pytest.mark.parametrize(("emotion", "seed"), [("happy", 3), ("sad", 1)])
def test_our_embed_matches_imwatermarks_pixels_and_decoder(emotion, seed):
    imwatermark = pytest.importorskip("imwatermark")
    picture = procedural.paint(emotion=emotion, favorite="tulip", seed=seed, width=768, height=512)
    bgr = np.ascontiguousarray(np.asarray(picture, dtype=np.float32)[:, :, ::-1])
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bits", watermark.BITS)
    theirs = encoder.encode(bgr.copy(), "dwtDctSvd").round().clip(0, 255)
    ours = watermark.embed_bgr(bgr.copy()).round().clip(0, 255)
    assert np.abs(theirs - ours).max() <= 1
    # embed() works on RGB planes (OpenCV's RGB2YUV, no flipped copy): the same pixels within a level.
    assert np.abs(theirs[:, :, ::-1] - np.asarray(watermark.embed(picture), dtype=np.float32)).max() <= 1
    decoder = imwatermark.WatermarkDecoder("bits", 48)
    for image in (bgr, ours):  # our decoder gives the library's bits, marked or not
        assert watermark.decode_bgr(image) == [int(bit) for bit in decoder.decode(image, "dwtDctSvd")]


def test_the_watermark_needs_no_torch_nor_imwatermark():
    code = "import sys, numpy; from provenance import watermark; from PIL import Image; "
    code += "watermark.embed(Image.new('RGB', (512, 512))); print(sorted({'torch', 'imwatermark', 'pywt'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=settings_root())
    assert result.stdout.strip() == "[]"


def settings_root():
    from django.conf import settings

    return str(settings.BASE_DIR)


def test_the_watermark_setting_turns_it_off(settings):
    settings.GARDEN_PROVENANCE_WATERMARK = False
    assert not watermark.detect(Image.open(io.BytesIO(encode_png(painted(), PROCEDURAL))))


def serve(directory):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_command_reports_each_mark_from_a_file_and_a_url(signing, tmp_path):
    path = tmp_path / "garden.jpg"
    path.write_bytes(encode_jpeg(painted(), PROCEDURAL, watermark=True))
    out = io.StringIO()
    call_command("provenance", str(path), "--json", stdout=out)
    found = json.loads(out.getvalue())
    assert found["xmp"] == {"digital_source_type": xmp.ALGORITHMIC, "model": "procedural-painter-v1", "software": "Emotion Garden"}
    assert found["parameters"] == PROCEDURAL
    assert (found["c2pa"]["validation_state"], found["c2pa"]["failures"]) == ("Valid", ["signingCredential.untrusted"])
    assert found["watermark"] == {"checked": True, "found": True, "matching_bits": 48, "of": 48}
    server = serve(tmp_path)
    try:
        out = io.StringIO()
        call_command("provenance", f"http://127.0.0.1:{server.server_port}/garden.jpg", stdout=out)
    finally:
        server.shutdown()
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        f"XMP digital source type: {xmp.ALGORITHMIC}",
        "XMP software: Emotion Garden; model: procedural-painter-v1",
        f"EXIF parameters: {json.dumps(PROCEDURAL, sort_keys=True)}",
        f"C2PA manifest: Valid; signer Emotion Garden C2PA signer; c2pa.created ({xmp.ALGORITHMIC}); failures: signingCredential.untrusted",
        "Watermark: found (48/48 bits)",
    ]


def test_the_command_says_what_a_plain_file_lacks_and_refuses_what_it_cannot_read(tmp_path):
    path = tmp_path / "plain.png"
    painted().save(path)
    out = io.StringIO()
    call_command("provenance", str(path), stdout=out)
    assert "XMP digital source type: (none)" in out.getvalue() and "C2PA manifest: (none)" in out.getvalue()
    assert "Watermark: not found" in out.getvalue()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("provenance", str(tmp_path / "missing.jpg"))
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(CommandError, match="not a picture"):
        call_command("provenance", str(tmp_path / "notes.txt"))


def test_the_check_is_info_when_off_and_a_warning_when_files_are_unreadable(settings, tmp_path):
    settings.GARDEN_C2PA_CERT = settings.GARDEN_C2PA_KEY = ""
    assert [(type(m), m.id) for m in checks.c2pa_signing_off(None)] == [(Info, "provenance.I001")]
    assert checks.c2pa_signing(None) == []  # a plain `check` has nothing to say about it
    assert "provenance.I001" in {m.id for m in registry.run_checks(include_deployment_checks=True)}
    assert "provenance.I001" not in {m.id for m in registry.run_checks()}
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = str(tmp_path / "nope.pem"), str(tmp_path / "nope-key.pem")
    assert [(type(m), m.id) for m in checks.c2pa_signing(None)] == [(Warning, "provenance.W001")] * 2


def test_c2pa_test_cert_writes_a_pair_that_signs(tmp_path, settings):
    out = io.StringIO()
    call_command("c2pa_test_cert", str(tmp_path / "certs"), stdout=out)
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = (line.split("=", 1)[1] for line in out.getvalue().splitlines())
    assert (tmp_path / "certs" / "c2pa-key.pem").stat().st_mode & 0o777 == 0o600
    assert c2pa.read(encode_webp(painted(), DIFFUSION, watermark=False))["validation_state"] == "Valid"
    with pytest.raises(CommandError, match="--force"):
        call_command("c2pa_test_cert", str(tmp_path / "certs"))
