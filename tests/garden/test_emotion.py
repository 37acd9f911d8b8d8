"""POST /emotion end to end, on real face photos that ship inside packages (never committed here)."""

from __future__ import annotations

import io
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest
from PIL import Image

from garden.models import Visitor

pytestmark = pytest.mark.django_db

EXPECTED_KEYS = {
    "id", "bucket", "key", "ageRange", "smile", "eyeglasses", "sunglasses", "gender",
    "beard", "mustache", "eyesOpen", "mouthOpen", "emotions", "generation",
}  # fmt: skip


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    data = pytest.importorskip("skimage.data")
    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="module")
def grace_hopper_jpeg() -> bytes:
    matplotlib = pytest.importorskip("matplotlib")
    return (Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").read_bytes()


@pytest.fixture(scope="module")
def no_face_jpeg() -> bytes:
    data = pytest.importorskip("skimage.data")
    return encode(Image.fromarray(data.coffee()))  # a cup of coffee on a table


def post(client, body: bytes, content_type: str = "image/jpeg", **headers):
    return client.post("/emotion", data=body, content_type=content_type, headers=headers)


def test_astronaut_is_a_happy_adult_woman(client, astronaut):
    response = post(client, encode(astronaut, "PNG"), content_type="image/png")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == EXPECTED_KEYS
    assert body["emotions"] == "HAPPY"
    assert body["smile"] is True
    assert body["gender"] == "Female"
    low, high = body["ageRange"]["Low"], body["ageRange"]["High"]
    assert 18 <= low < high <= 50, body["ageRange"]  # Eileen Collins was 35 at the time
    assert body["generation"] in {"young-adult", "adult"}
    assert body["eyesOpen"] is True
    # Not estimated by the offline models: documented as always false.
    assert (body["eyeglasses"], body["sunglasses"], body["beard"], body["mustache"]) == (False, False, False, False)
    assert uuid.UUID(body["id"]).version == 4
    assert body["bucket"] == "emotion-garden" and body["key"] == f"profile/{body['id']}.jpeg"


def test_grace_hopper_is_a_calm_elder(client, grace_hopper_jpeg):
    # curl's --data-binary default header: the body is sniffed, the header ignored.
    response = post(client, grace_hopper_jpeg, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emotions"] == "CALM"
    assert body["generation"] == "elder"
    assert body["ageRange"]["Low"] >= 65
    assert body["smile"] is False and body["mouthOpen"] is False
    # Known weakness, kept visible: dlib's gender network calls her "Male" (docs/faces.md, accuracy).


def test_visitor_is_stored_with_labels_only(client, astronaut):
    response = post(client, encode(astronaut))
    visitor = Visitor.objects.get(id=response.json()["id"])
    assert (visitor.emotion, visitor.gender, visitor.age_group) == ("happy", "Female", response.json()["generation"])
    assert (visitor.age_low, visitor.age_high) == (response.json()["ageRange"]["Low"], response.json()["ageRange"]["High"])
    assert visitor.features["backend"] == "local"
    assert visitor.features["emotionScores"]["HAPPY"] > 0.5
    assert visitor.features["eyeglasses"] is None  # "not estimated", not "no glasses"
    assert all(not isinstance(value, bytes | bytearray) for value in visitor.features.values())


def test_photo_is_not_kept_anywhere(client, astronaut, media_dir, caplog):
    caplog.set_level("DEBUG")
    photo = encode(astronaut)
    assert post(client, photo).status_code == 200
    assert list(media_dir.rglob("*")) == []
    assert "\ufffd" not in caplog.text and len(caplog.text) < 2000


def test_x_user_id_is_reused_and_updated(client, astronaut, grace_hopper_jpeg):
    visitor_id = str(uuid.uuid4())
    first = post(client, encode(astronaut), **{"X-user-id": visitor_id})
    assert first.json()["id"] == visitor_id
    second = post(client, grace_hopper_jpeg, **{"X-user-id": visitor_id})
    assert second.json()["id"] == visitor_id
    visitor = Visitor.objects.get(id=visitor_id)
    assert Visitor.objects.count() == 1
    assert (visitor.emotion, visitor.age_group) == ("calm", "elder")
    assert visitor.last_seen >= visitor.first_seen


def test_without_x_user_id_each_call_mints_a_new_uuid4(client, astronaut):
    photo = encode(astronaut)
    ids = {post(client, photo).json()["id"] for _ in range(2)}
    assert len(ids) == 2 and all(uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.parametrize("legacy", ["1234567890", "kiosk-7_visitor.42", "47f9eeb5-4252-435e-a1c9", "방문자"])
def test_any_string_x_user_id_of_old_devices_is_echoed_exactly(client, astronaut, legacy):
    response = post(client, encode(astronaut), **{"X-user-id": legacy.encode().decode("latin-1")})
    assert response.status_code == 200
    # The header arrives as a WSGI server hands it over (UTF-8 bytes read as latin-1) and goes back as sent.
    assert response.json()["id"] == legacy and response.json()["key"] == f"profile/{legacy}.jpeg"
    assert Visitor.objects.get().id == legacy


def test_an_upper_case_uuid_is_the_same_visitor_as_before(client, astronaut):
    upper = "47F9EEB5-4252-435E-A1C9-B4A936F015AE"
    assert post(client, encode(astronaut), **{"X-user-id": upper}).json()["id"] == upper.lower()


@pytest.mark.parametrize("bad", ["x" * 65, "tab\there", "bell\x07"])
def test_an_unusable_x_user_id_is_400_and_stores_nothing(client, astronaut, bad):
    response = post(client, encode(astronaut), **{"X-user-id": bad})
    assert response.status_code == 400
    assert Visitor.objects.count() == 0


def test_no_face_is_plain_text_404(client, no_face_jpeg):
    response = post(client, no_face_jpeg)
    assert response.status_code == 404
    assert response.content == b"No Face"
    assert response["Content-Type"].startswith("text/plain")
    assert Visitor.objects.count() == 0


def test_webp_is_accepted(client, astronaut):
    response = post(client, encode(astronaut, "WEBP", quality=90), content_type="image/webp")
    assert response.status_code == 200 and response.json()["emotions"] == "HAPPY"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
        (b'{"image": "aGVsbG8="}', "application/json"),
        (b"%PDF-1.7\n", "image/jpeg"),  # a lying header does not help
    ],
)
def test_non_images_are_415(client, body, content_type):
    assert post(client, body, content_type=content_type).status_code == 415


def test_empty_body_is_400(client):
    assert post(client, b"").status_code == 400


def test_truncated_jpeg_is_400(client, grace_hopper_jpeg):
    response = post(client, grace_hopper_jpeg[: len(grace_hopper_jpeg) // 2])
    assert response.status_code == 400
    assert Visitor.objects.count() == 0


def test_oversized_body_is_413(client, settings, astronaut):
    settings.GARDEN_MAX_UPLOAD_BYTES = 10_000
    assert post(client, encode(astronaut, "PNG"), content_type="image/png").status_code == 413


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of side x side black pixels: ~110 KB on the wire for 900 megapixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = zlib.compress(bytes((1 + (side + 7) // 8) * side), 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "side",
    [
        30000,  # 900 MP: beyond Pillow's own DecompressionBombError threshold
        8000,  # 64 MP: under Pillow's threshold, over GARDEN_FACE_MAX_PIXELS (40 MP)
    ],
)
def test_decompression_bomb_is_refused_fast(client, side):
    bomb = png_bomb(side)
    started = time.perf_counter()
    response = post(client, bomb, content_type="image/png")
    assert response.status_code == 413, response.content
    assert time.perf_counter() - started < 1.0
    assert Visitor.objects.count() == 0


def test_a_small_png_of_many_pixels_is_refused_before_decoding(client):
    # 116 KB of zeros that decode to 6320x6320 (40 MP, under the JPEG cap): it used to cost ~1 s of
    # CPU and ~120 MB before "No Face". PNG and WebP decode at full size, so their cap is 2.5 MP.
    big = encode(Image.new("RGB", (6320, 6320)), "PNG")
    assert len(big) < 200_000
    response = post(client, big, content_type="image/png")
    assert response.status_code == 413 and "2500000" in response.json()["detail"]
    assert post(client, encode(Image.new("RGB", (1920, 1080)), "PNG"), content_type="image/png").status_code == 404  # accepted


def test_exif_orientation_is_honoured(client, astronaut):
    # Stored sideways with an EXIF "rotate 90° CW to display" tag, as phones do.
    sideways = astronaut.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    response = post(client, encode(sideways, exif=exif))
    assert response.status_code == 200, response.content
    assert response.json()["emotions"] == "HAPPY"


def test_large_photo_is_downscaled_and_still_analysed(client, astronaut):
    big = astronaut.resize((4096, 4096), Image.Resampling.BICUBIC)
    response = post(client, encode(big, quality=85))
    assert response.status_code == 200
    assert response.json()["emotions"] == "HAPPY"


def test_concurrent_requests_match_sequential(astronaut, grace_hopper_jpeg, no_face_jpeg):
    from garden.faces.services import analyse_photo

    photos = [encode(astronaut), grace_hopper_jpeg, no_face_jpeg] * 4

    def summary(face):
        return None if face is None else (face.top_emotion, face.gender, face.age_low, face.age_high, face.smile, face.mouth_open)

    sequential = [summary(analyse_photo(photo=p)) for p in photos]
    results: list = [None] * len(photos)
    barrier = threading.Barrier(len(photos))

    def work(index: int) -> None:
        barrier.wait()
        results[index] = summary(analyse_photo(photo=photos[index]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(photos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == sequential
    assert sequential[0][0] == "HAPPY" and sequential[1][0] == "CALM" and sequential[2] is None


def test_schema_documents_the_privacy_notice(client, admin_client):
    schema = admin_client.get("/api/schema").content.decode()
    assert "/emotion" in schema
    assert "It does not read your feelings" in schema  # the kiosk notice, in the /emotion docs
    assert "not estimated and always false" in schema
