"""manage.py evaluate_faces on a labelled folder built at test time from photos that ship in packages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageOps

from tests.garden.tiny_expression import FERPLUS_MAPPING, red_minus_blue, write_channel_mean_model


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """happy/ (astronaut, mirrored astronaut), calm/ (Grace Hopper, a corrupt file), surprise/ (coffee: no face)."""
    data = pytest.importorskip("skimage.data")
    matplotlib = pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("labelled")
    for folder in ("happy", "calm", "surprise"):
        (root / folder).mkdir()
    astronaut = Image.fromarray(data.astronaut())
    astronaut.save(root / "happy" / "astronaut.jpg", quality=92)
    ImageOps.mirror(astronaut).save(root / "happy" / "astronaut-mirrored.png")
    hopper = (Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").read_bytes()
    (root / "calm" / "grace_hopper.jpg").write_bytes(hopper)
    (root / "calm" / "truncated.jpg").write_bytes(hopper[: len(hopper) // 3])
    (root / "calm" / "README.txt").write_text("not a photo")
    Image.fromarray(data.coffee()).save(root / "surprise" / "coffee.jpg")
    return root


def run(directory: Path, out: Path) -> tuple[str, dict]:
    stdout = io.StringIO()
    call_command("evaluate_faces", str(directory), json=str(out), stdout=stdout)
    return stdout.getvalue(), json.loads(out.read_text())


def test_report_of_the_bundled_backend(labelled, tmp_path):
    text, report = run(labelled, tmp_path / "report.json")
    assert report["backend"] == "local" and report["expression_model"].startswith("bundled")
    assert report["photos"] == 4 and report["faces_found"] == 3
    assert report["accuracy"] == 0.75 and report["accuracy_on_faces"] == 1.0
    assert report["labels"]["HAPPY"] == {"photos": 2, "correct": 2, "recall": 1.0, "precision": 1.0}
    assert report["labels"]["SURPRISED"] == {"photos": 1, "correct": 0, "recall": 0.0, "precision": None}
    assert report["confusion"]["SURPRISED"] == {"HAPPY": 0, "SURPRISED": 0, "CALM": 0, "NO_FACE": 1}
    assert report["confusion"]["CALM"]["CALM"] == 1
    assert list(report["skipped"]) == ["calm/truncated.jpg"]
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["max"]
    assert {r["path"] for r in report["results"]} == {
        "happy/astronaut.jpg",
        "happy/astronaut-mirrored.png",
        "calm/grace_hopper.jpg",
        "surprise/coffee.jpg",
    }
    assert "accuracy: 75.0%" in text and "confusion (rows: expected, columns: predicted)" in text
    assert "HAPPY            2        2   100.0%     100.0%" in text


def test_report_follows_the_configured_expression_model(labelled, tmp_path, settings):
    path = write_channel_mean_model(tmp_path / "m.onnx", weights=red_minus_blue(8, 2))
    settings.GARDEN_EXPRESSION_MODEL = str(path)
    settings.GARDEN_EXPRESSION_CLASSES = FERPLUS_MAPPING.split(",")
    _, report = run(labelled, tmp_path / "report.json")
    assert report["expression_model"] == "m.onnx (replace)"
    # Every face now reads as SURPRISED: the happy photos and Grace Hopper are wrong.
    assert report["labels"]["HAPPY"]["correct"] == 0
    assert report["confusion"]["HAPPY"]["SURPRISED"] == 2
    assert report["accuracy"] == 0.0


def test_unknown_label_folder_is_refused(tmp_path):
    (tmp_path / "bored").mkdir()
    with pytest.raises(CommandError, match=r"Unknown label folder.*bored"):
        call_command("evaluate_faces", str(tmp_path), json=str(tmp_path / "r.json"))


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("evaluate_faces", str(tmp_path / "nowhere"))
