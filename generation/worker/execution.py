"""The one entry point for workers, ``manage.py generate`` and tests: claim a job and run it to its
end in this process, alone (generation.worker.runner) or with the queued jobs that share its
call (generation.worker.gathered_run)."""

from __future__ import annotations

import logging

from generation.models import GenerationJob
from generation.worker import gathering, runner
from generation.worker.gathered_run import run_gathered

log = logging.getLogger(__name__)


def execute_job(*, job_id, worker: str = "", heartbeat: bool = False) -> GenerationJob | None:
    """Run a job to its end in this process; raises TransientJobError when a retry may help.

    Permanent failures (a model that cannot be loaded, bad parameters, anything unexpected) end the
    job as failed with a readable error; cancellation ends it as cancelled. ``heartbeat``: a
    background thread refreshes ``heartbeat_at`` while the job runs (workers pass True). A
    gatherable job runs with the jobs queued with it, finished in the worker's finishing processes
    where it has them (generation.worker.finishing_processes), else inline.
    """
    job = runner.claim_job(job_id=job_id, worker=worker)
    if job is None:
        log.info("generation job %s is not runnable (finished, cancelled or claimed by another worker)", job_id)
        return GenerationJob.objects.filter(pk=job_id).first()
    if gathering.gatherable(job):
        return run_gathered(job, worker=worker, heartbeat=heartbeat)
    return runner.run_claimed_job(job, heartbeat=heartbeat)
