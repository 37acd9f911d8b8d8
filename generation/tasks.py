"""Celery tasks: thin wrappers that take ids and call services.

Generation runs on the `gpu` queue (CELERY_TASK_ROUTES), one worker process per GPU with
concurrency 1. The pipeline is loaded lazily by the process that runs the first job, so a
prefork parent never touches torch before forking.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from generation import services
from generation.enqueue import RUN_JOB_TASK, SWEEP_TASK

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=RUN_JOB_TASK,
    # Acknowledge after the run: a worker killed mid-job leaves the message to be redelivered,
    # and claim_job makes the redelivery (or a duplicate re-sent by the sweeper for a job queued
    # too long) a no-op unless the job is still queued or its lease has expired.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT,
    time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT + 120,
    ignore_result=True,
)
def run_generation_job(self, job_id: str) -> None:
    try:
        job = services.execute_job(job_id=job_id, worker=self.request.hostname or "")
        if job is not None and job.status == job.Status.RUNNING:
            # Another attempt holds a live lease (e.g. this message was redelivered after a
            # worker crash while the heartbeat is still fresh): look again once the lease can
            # have expired, so a dead worker's job is picked up even without the sweeper.
            raise self.retry(countdown=settings.GARDEN_JOB_LEASE_SECONDS, max_retries=None)
    except services.TransientJobError as exc:
        # The job row counts attempts (GARDEN_JOB_MAX_ATTEMPTS), whichever message runs them.
        if not services.requeue_job(job_id=job_id, error=str(exc)):
            services.fail_job(job_id=job_id, error=f"Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts: {exc}")
            return
        log.warning("generation job %s: transient failure, retrying: %s", job_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 5 * 2**self.request.retries), max_retries=None) from exc


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_stale_jobs() -> int:
    # Beat runs this every few minutes: also a good moment to drop expired retouch uploads.
    services.purge_finished_uploads()
    return services.sweep_stale_jobs()


@worker_ready.connect
def _sweep_when_a_worker_starts(**_kwargs) -> None:
    # Runs in the worker's main process: database only, no torch.
    try:
        services.sweep_stale_jobs()
    except Exception:  # a worker must start even when the database is briefly unavailable
        log.exception("could not sweep stale generation jobs at worker start")
