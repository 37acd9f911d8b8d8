"""A hung job is noticed (generation.worker.sweeper): its worker's heartbeat goes on but its
progress has not moved for base + steps x images x GARDEN_JOB_HUNG_SECONDS_PER_STEP: the attempt
ends, the job is requeued with a notice (failed after GARDEN_JOB_MAX_ATTEMPTS), and it finishes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import services
from generation.models import GenerationJob
from generation.worker import runner, sweeper

pytestmark = pytest.mark.django_db


def make_job(**kwargs) -> GenerationJob:
    params = {"emotion": "calm", "width": 64, "height": 64, "steps": 2, "seed": 1234, **kwargs}
    return services.create_job(request=services.JobRequest(**params), enqueue=False)


@pytest.fixture
def hung_settings(diffusers_settings):
    diffusers_settings.GARDEN_JOB_HUNG_BASE_SECONDS = 30
    diffusers_settings.GARDEN_JOB_HUNG_SECONDS_PER_STEP = 1
    return diffusers_settings


def running(job: GenerationJob, *, idle: float, attempts: int = 1) -> None:
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(
        status="running", attempts=attempts, heartbeat_at=now, progress_at=now - timedelta(seconds=idle)
    )


def test_the_limit_grows_with_the_jobs_size(hung_settings):
    small, large = make_job(steps=2), make_job(kind="bulk", count=3, steps=10)
    assert sweeper.hung_limit(small) < sweeper.hung_limit(large)
    assert sweeper.hung_limit(large) == 30 + large.steps * large.images_total * 1


def test_a_hung_job_is_requeued_with_a_notice_and_then_finishes(hung_settings, no_enqueue, django_capture_on_commit_callbacks):
    job, busy = make_job(), make_job()
    limit = sweeper.hung_limit(job)
    running(job, idle=limit + 5)
    running(busy, idle=limit - 5)  # slow, but within its limit
    attempt = GenerationJob.objects.filter(pk=job.pk, attempts=1, status="running")  # what the hung worker writes through

    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep_stale_jobs() == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.worker == "" and job.progress_at is None
    assert job.notice.startswith("Job hung (no progress for") and "attempt 2 of 3" in job.notice
    assert "GARDEN_JOB_HUNG_SECONDS_PER_STEP" in job.error
    assert [job_id for job_id, _ in no_enqueue] == [str(job.pk)]
    assert GenerationJob.objects.get(pk=busy.pk).status == "running"
    assert attempt.update(heartbeat_at=timezone.now()) == 0  # the hung attempt's heartbeat finds nothing: it stops

    finished = runner.execute_job(job_id=job.pk)
    assert finished.status == "succeeded" and finished.attempts == 2 and finished.images.count() == job.images_total


def test_a_job_that_hangs_on_its_last_attempt_fails(hung_settings, no_enqueue):
    job = make_job()
    running(job, idle=sweeper.hung_limit(job) + 5, attempts=hung_settings.GARDEN_JOB_MAX_ATTEMPTS)
    assert sweeper.sweep_stale_jobs() == 1
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("Job hung (no progress for") and not no_enqueue
    assert job.error.endswith(f"after {hung_settings.GARDEN_JOB_MAX_ATTEMPTS} attempts (GARDEN_JOB_MAX_ATTEMPTS).")


def test_zero_per_step_never_calls_a_job_hung(hung_settings, no_enqueue):
    hung_settings.GARDEN_JOB_HUNG_SECONDS_PER_STEP = 0
    job = make_job()
    running(job, idle=10**6)
    assert sweeper.sweep_stale_jobs() == 0
