"""An attempt that will not finish ends by one decision (generation.worker.attempt.Attempt.end),
whoever ends it: the sweeper (no heartbeat), the worker whose pool process died (resume_lost_job),
a transient failure (requeue_job). Cancelled if a cancel was asked, failed on its last attempt,
else queued again; each end announced once it commits, whatever the job."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import changes, services
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import lifecycle as worker_lifecycle
from generation.worker import runner
from generation.worker import sweeper as worker_sweeper

pytestmark = pytest.mark.django_db


@pytest.fixture
def said(monkeypatch) -> list[str]:
    """The ids announced (generation.changes), in order."""
    ids: list[str] = []
    monkeypatch.setattr(changes, "announce_ids", lambda job_ids: ids.extend(str(job_id) for job_id in job_ids))
    return ids


def sweep(job):
    stale = timezone.now() - timedelta(hours=1)
    GenerationJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    return worker_sweeper.sweep_stale_jobs()


def resume(job):
    return worker_lifecycle.resume_lost_job(job_id=job.pk, worker="gpu-1@box", reason="signal 9 (SIGKILL)")


def transient(job):
    return worker_lifecycle.requeue_job(job_id=job.pk, error="OSError: storage away")


ENDERS = {"sweeper": sweep, "lost pool process": resume, "transient failure": transient}
CASES = [  # (what happened before the end, the state it ends in)
    ("nothing", "queued"),
    ("cancel asked", "cancelled"),
    ("last attempt", "failed"),
]


@pytest.mark.parametrize("before, ends", CASES)
@pytest.mark.parametrize("ender", ENDERS)
def test_every_end_of_an_attempt_is_the_same_decision(settings, no_enqueue, said, django_capture_on_commit_callbacks, ender, before, ends):
    job = services.create_job(request=JobRequest(emotion="calm", backend="procedural", width=64, height=64), enqueue=False)
    assert worker_lifecycle.claim_job(job_id=job.pk, worker="gpu-1@box") is not None
    if before == "cancel asked":
        services.cancel_job(job=job)
    elif before == "last attempt":
        settings.GARDEN_JOB_MAX_ATTEMPTS = 1
    said.clear()

    with django_capture_on_commit_callbacks(execute=True):
        ENDERS[ender](job)
    job.refresh_from_db()
    assert job.status == ends and said == [str(job.pk)], (job.status, said)
    if ends == "queued":
        assert job.worker == "" and job.heartbeat_at is None and job.notice.endswith("resumed (attempt 2 of 3).")
        assert no_enqueue == ([(str(job.pk), job.queue)] if ender == "sweeper" else [])  # the others' own message comes back
    if ends == "failed":
        assert job.error.endswith("after 1 attempts (GARDEN_JOB_MAX_ATTEMPTS).") and job.finished_at is not None
    if ends != "queued":
        assert worker_lifecycle.claim_job(job_id=job.pk, worker="gpu-2@box") is None  # an ended job never runs again


def test_a_non_live_jobs_success_is_announced(no_enqueue, said, django_capture_on_commit_callbacks):
    job = services.create_job(request=JobRequest(emotion="calm", backend="procedural", width=64, height=64), enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        finished = runner.execute_job(job_id=job.pk, worker="gpu-1@box")
    assert finished.status == "succeeded" and not finished.live and said == [str(job.pk)]  # its end; its start is a live job's only


def test_a_queued_job_with_its_attempts_used_up_fails_when_claimed(settings, no_enqueue, said, django_capture_on_commit_callbacks):
    job = services.create_job(request=JobRequest(emotion="calm", backend="procedural", width=64, height=64), enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(attempts=settings.GARDEN_JOB_MAX_ATTEMPTS)  # requeued after its last try
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_lifecycle.claim_job(job_id=job.pk, worker="gpu-1@box") is None
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("Gave up") and job.finished_at is not None and said == [str(job.pk)]
