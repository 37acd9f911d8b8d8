"""A job whose worker was lost says so: ``notice`` in the job API, the admin's list and page."""

import pytest
from django.urls import reverse

from generation import services
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import lifecycle as worker_lifecycle
from generation.worker import runner

pytestmark = pytest.mark.django_db


def _running_job(worker: str = "gpu-1@box") -> GenerationJob:
    job = services.create_job(request=JobRequest(emotion="calm", backend="procedural", width=64, height=64), enqueue=False)
    assert worker_lifecycle.claim_job(job_id=job.pk, worker=worker) is not None
    return job


def test_a_lost_pool_process_requeues_the_job_with_its_reason(settings, staff_client, django_user_model):
    job = _running_job()
    assert worker_lifecycle.resume_lost_job(job_id=job.pk, worker="other@box", reason="x") == ""  # not its worker: left alone
    assert (
        worker_lifecycle.resume_lost_job(job_id=job.pk, worker="gpu-1@box", reason="Worker exited prematurely: signal 9 (SIGKILL)")
        == "queued"
    )
    job.refresh_from_db()
    notice = "Worker lost (Worker exited prematurely: signal 9 (SIGKILL)); resumed (attempt 2 of 3)."
    assert (job.status, job.attempts, job.worker, job.heartbeat_at, job.notice) == ("queued", 1, "", None, notice)

    assert staff_client.get(f"/api/v1/jobs/{job.pk}").json()["notice"] == notice
    admin = django_user_model.objects.create_superuser("root-notice", password="pw-root-notice-1")
    staff_client.force_login(admin)
    assert notice in staff_client.get(reverse("admin:generation_generationjob_changelist")).content.decode()
    assert notice in staff_client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()

    # The next attempt claims it at once (no lease to wait out); a retry by a curator clears the notice.
    assert worker_lifecycle.claim_job(job_id=job.pk, worker="gpu-1@box").attempts == 2
    worker_lifecycle.fail_job(job_id=job.pk, error="boom")
    services.retry_job(job=job)
    job.refresh_from_db()
    assert (job.status, job.notice, job.attempts) == ("queued", "", 0)


def test_the_last_attempt_lost_fails_the_job_naming_the_reason(settings):
    settings.GARDEN_JOB_MAX_ATTEMPTS = 1
    job = _running_job()
    assert (
        worker_lifecycle.resume_lost_job(job_id=job.pk, worker="gpu-1@box", reason="Worker exited prematurely: signal 9 (SIGKILL)")
        == "failed"
    )
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "Worker lost (Worker exited prematurely: signal 9 (SIGKILL)) after 1 attempts (GARDEN_JOB_MAX_ATTEMPTS)."


def test_the_heartbeat_is_at_most_a_third_of_the_lease(settings):
    from generation.worker.lifecycle import heartbeat_interval

    settings.GARDEN_JOB_LEASE_SECONDS, settings.GARDEN_JOB_HEARTBEAT_SECONDS = 60, 10
    assert heartbeat_interval() == 10
    settings.GARDEN_JOB_LEASE_SECONDS = 4
    assert heartbeat_interval() == pytest.approx(4 / 3)
    settings.GARDEN_JOB_HEARTBEAT_SECONDS = 0
    assert heartbeat_interval() == 0


def test_a_resumed_job_that_succeeds_keeps_its_notice_and_no_error(settings):
    job = _running_job()
    assert (
        worker_lifecycle.resume_lost_job(job_id=job.pk, worker="gpu-1@box", reason="Worker exited prematurely: signal 9 (SIGKILL)")
        == "queued"
    )
    GenerationJob.objects.filter(pk=job.pk).update(error="worker lost: no heartbeat for 60s")  # what the sweeper writes
    finished = runner.execute_job(job_id=job.pk, worker="gpu-2@box")
    assert finished.status == "succeeded"
    assert finished.error == ""
    assert finished.notice.endswith("resumed (attempt 2 of 3).")
