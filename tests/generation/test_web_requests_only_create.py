"""A web request that creates jobs only creates them (issue 97): no sweep of stale jobs (the
workers' housekeeping, generation.worker.sweeper), and a bulk form's requests validated once each."""

import pytest
from django.urls import reverse

from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import sweeper

pytestmark = pytest.mark.django_db

BULK_FORM = {"emotion": ["happy", "sad", "calm"], "emotion_text": "", "favorite": "", "others": "flowers", "repeat_count": 1,
             "resolution": "768x512", "steps": 5, "guidance": 7.5, "seed": 11, "backend": "procedural"}  # fmt: skip


@pytest.fixture
def counted(monkeypatch) -> dict:
    """How often a request is validated and the sweeper runs."""
    counts = {"validate": 0, "sweep": 0}
    validate = JobRequest.validate

    def counting_validate(self):
        counts["validate"] += 1
        return validate(self)

    def counting_sweep(*args, **kwargs):
        counts["sweep"] += 1
        return 0

    monkeypatch.setattr(JobRequest, "validate", counting_validate)
    monkeypatch.setattr(sweeper, "sweep_stale_jobs", counting_sweep)
    monkeypatch.setattr(sweeper, "resend_lost_jobs", counting_sweep)
    return counts


def test_the_bulk_form_validates_each_request_once_and_sweeps_nothing(admin_client, counted, no_enqueue):
    response = admin_client.post(reverse("admin:generation_generationjob_add"), BULK_FORM)
    assert response.status_code == 302, response.context["form"].errors
    assert GenerationJob.objects.count() == 3
    assert counted == {"validate": 3, "sweep": 0}


def test_creating_a_job_through_the_api_sweeps_nothing(staff_client, counted, no_enqueue):
    response = staff_client.post("/api/v1/jobs", {"emotion": "calm", "width": 64, "height": 64, "steps": 2}, format="json")
    assert response.status_code == 202, response.content
    assert counted["sweep"] == 0
