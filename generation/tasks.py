"""generation's Celery tasks (found by the Celery app's autodiscovery): a job run, and beat's sweep.
They take ids and call generation.worker (runner, lifecycle, sweeper); the hooks that start a worker are generation.worker.start.

A job's message goes to its row's queue (generation.dispatch.enqueue: the GPU queue, the live queue):
a wake-up call for one job of that queue, the one the worker it reaches paints best now
(generation.worker.claim, in generation.dispatch.pull's order).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from generation import kinds
from generation.dispatch import pull
from generation.dispatch.enqueue import RUN_JOB_TASK, SWEEP_TASK
from generation.worker import lifecycle, runner, sweeper, toolbox
from generation.worker.start import JobTask
from infra import periodic

log = logging.getLogger(__name__)
EAGER_RETRIES = 3  # retries of an eager run (Celery's default); a worker's message has no limit


@shared_task(
    bind=True,
    base=JobTask,
    name=RUN_JOB_TASK,
    # Acknowledge after the run: a worker killed mid-job leaves the message to be redelivered,
    # and claim_job makes the redelivery (or a duplicate re-sent by the sweeper for a job queued
    # too long) a no-op unless the job is still queued or its lease has expired.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT,
    time_limit=settings.GARDEN_JOB_SOFT_TIME_LIMIT + 120,
    ignore_result=True,
    # On a worker every retry below goes on for as long as its reason lasts (a pass-on, a lease, the
    # database away; transient failures are bounded by the job's own GARDEN_JOB_MAX_ATTEMPTS).
    # retry(max_retries=None) means "the task's default" (Celery's 3): the limit is lifted here,
    # or a message passed on a fourth time was dropped and its job left queued with no message.
    max_retries=None,
)
def run_generation_job(self, named_job_id: str) -> None:
    # The job the message names: on a worker a wake-up call for its queue (generation.worker.claim
    # may claim another of it); eager, the job run.
    on_worker = not self.request.is_eager  # eager (tests, `manage.py generate`): this job, here, now
    # Eager, a retry runs at once (no countdown, no worker to wait for): bounded, or a database
    # that stays away or another worker's live lease would spin this process.
    bound = {} if on_worker else {"max_retries": EAGER_RETRIES}
    try:
        message = (self.request.id or "") if on_worker else ""
        job = runner.execute_job(job_id=named_job_id, worker=self.request.hostname or "", heartbeat=on_worker, message=message)
        if job is not None and job.status == job.Status.RUNNING:
            # Another attempt holds a live lease (e.g. this message was redelivered after a
            # worker crash while the heartbeat is still fresh): look again once the lease can
            # have expired, so a dead worker's job is picked up even without the sweeper.
            raise self.retry(countdown=settings.GARDEN_JOB_LEASE_SECONDS, **bound)
        if on_worker and job is not None and job.status == job.Status.QUEUED and not job.cancel_requested:
            # Nothing this worker could paint, its own job included (its files are on another host):
            # the message goes on, so a worker there gets it (generation.dispatch.pull, rule 0).
            raise self.retry(countdown=pull.PASS_ON_SECONDS)
    except toolbox.TransientJobError as exc:
        # The job row counts attempts (GARDEN_JOB_MAX_ATTEMPTS), whichever message runs them: past
        # them (or cancelled) requeue_job has ended the job instead. The retry names the job that
        # failed (the message may have claimed another than named_job_id).
        failed = str(exc.job_id or named_job_id)
        if not lifecycle.requeue_job(job_id=failed, error=str(exc)):
            return
        log.warning("generation job %s: transient failure, retrying: %s", failed, exc)
        raise self.retry(args=[failed], exc=exc, countdown=min(60, 5 * 2**self.request.retries), **bound) from exc
    except DatabaseError as exc:
        # Claiming or finishing the job met the database away or locked (SQLite under load): the
        # claim is one UPDATE, so nothing was half done; try again rather than drop the message
        # and leave the job queued until the sweeper re-sends it.
        close_old_connections()
        log.warning("generation job %s: database error, retrying: %s", named_job_id, exc)
        raise self.retry(exc=exc, countdown=min(60, 2 * 2**self.request.retries), **bound) from exc


@shared_task(name=SWEEP_TASK, ignore_result=True)
@periodic.recorded(SWEEP_TASK)  # beat's run, shown on the System status page
def sweep_stale_jobs() -> int:
    # Beat runs this every few minutes: also a good moment for the registered kinds' own clean-up.
    kinds.sweep_all()
    return sweeper.sweep_stale_jobs()
