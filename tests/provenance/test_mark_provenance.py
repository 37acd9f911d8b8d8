"""``manage.py mark_provenance``: pictures stored before provenance get the XMP packet without a
change to their compressed pixels, the row's size and hash follow the new file, and thumbnails are
rendered again with the XMP."""

import io
import json
import shutil
import subprocess

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from garden import keys
from garden.models import Image as GardenImage
from garden.services import create_image, read_file, sha256
from garden.thumbnails import ensure_thumbnail
from generation.backends import procedural
from generation.imagefile import _exif, read_parameters
from provenance import c2pa, xmp
from tests.provenance.test_provenance import signing  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
PROCEDURAL = {"generator": "procedural", "model_id": "procedural-painter-v1", "seed": 3}
RETOUCH = {"generator": "diffusers", "model_id": "/models/sd15-inpaint", "kind": "retouch", "seed": 5}


def old_file(image_format: str, parameters: dict) -> bytes:
    """A file as the encoders wrote it before provenance: EXIF parameters, no XMP."""
    buffer = io.BytesIO()
    picture = procedural.paint(emotion="calm", favorite="tulip", seed=1, width=96, height=64)
    picture.save(buffer, image_format, exif=_exif(parameters), **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def stored(image_format: str, parameters: dict, index: int = 0) -> GardenImage:
    key = keys.build_key(
        prefix=keys.POOL_PREFIX,
        emotion="calm",
        favorite="tulip",
        timestr=f"20250101-000000-00000{index}",
        index=index,
        orientation=keys.LANDSCAPE,
        extension=keys.PNG if image_format == "PNG" else keys.JPEG,
    )
    image = create_image(key=key, content=old_file(image_format, parameters), width=96, height=64, parameters=parameters)
    ensure_thumbnail(image=image)
    image.refresh_from_db()
    return image


def pixels(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))


def test_old_pictures_get_the_xmp_with_their_pixels_exif_size_and_hash_kept_in_step(tmp_path):
    jpeg, png = stored("JPEG", PROCEDURAL, 1), stored("PNG", RETOUCH, 2)
    before = {image.pk: (read_file(image.key), image.thumbnail_key) for image in (jpeg, png)}
    call_command("mark_provenance", verbosity=0)
    for image, source_type in ((jpeg, xmp.ALGORITHMIC), (png, xmp.COMPOSITE)):
        old, old_thumbnail = before[image.pk]
        image.refresh_from_db()
        new = read_file(image.key)
        assert xmp.read_fields(xmp.raw_packet(new))["digital_source_type"] == source_type
        assert np.array_equal(pixels(new), pixels(old))  # metadata inserted, pixels untouched
        assert read_parameters(new) == read_parameters(old)
        assert (image.byte_size, image.content_hash) == (len(new), sha256(new)) != (len(old), sha256(old))
        assert image.thumbnail_key != old_thumbnail and not default_storage.exists(old_thumbnail)
        assert xmp.read_fields(xmp.raw_packet(read_file(image.thumbnail_key)))["digital_source_type"] == source_type
        assert not default_storage.exists(image.key + ".provenance-tmp")
        if shutil.which("exiftool"):  # the inserted segment and chunk are well formed for exiftool too
            suffix = image.key.rsplit(".", 1)[1]
            (tmp_path / f"f.{suffix}").write_bytes(new)
            result = subprocess.run(
                ["exiftool", "-json", "-validate", "-XMP-iptcExt:DigitalSourceType", str(tmp_path / f"f.{suffix}")],
                capture_output=True,
                text=True,
                check=True,
            )
            assert json.loads(result.stdout)[0]["DigitalSourceType"] == source_type
    # A second run finds nothing to do.
    out = io.StringIO()
    call_command("mark_provenance", verbosity=0, stdout=out)
    assert "marked 0, already marked 2" in out.getvalue()


def test_dry_run_writes_nothing_and_limit_stops_after_n():
    first, second = stored("JPEG", PROCEDURAL, 1), stored("JPEG", PROCEDURAL, 2)
    out = io.StringIO()
    call_command("mark_provenance", "--dry-run", verbosity=0, stdout=out)
    assert "would mark 2" in out.getvalue()
    assert [xmp.raw_packet(read_file(image.key)) for image in (first, second)] == [b"", b""]
    call_command("mark_provenance", "--limit", "1", verbosity=0)
    assert xmp.raw_packet(read_file(first.key)) != b"" and xmp.raw_packet(read_file(second.key)) == b""


def test_with_signing_configured_the_marked_file_carries_a_valid_manifest(signing):  # noqa: F811
    image = stored("JPEG", PROCEDURAL, 1)
    call_command("mark_provenance", verbosity=0)
    manifest = c2pa.read(read_file(image.key))
    assert manifest["validation_state"] == "Valid"


def test_webp_without_an_extended_header_is_left_alone():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "WEBP")
    assert xmp.insert_packet(buffer.getvalue(), b"<x/>") is None
    with_exif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(with_exif, "WEBP", exif=_exif(PROCEDURAL))
    inserted = xmp.insert_packet(with_exif.getvalue(), xmp.build_packet(source_type=xmp.TRAINED, model="m"))
    assert xmp.read_fields(xmp.raw_packet(inserted))["digital_source_type"] == xmp.TRAINED
    assert Image.open(io.BytesIO(inserted)).size == (8, 8)
