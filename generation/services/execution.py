"""Which runner a job takes: a live job that may share its pipeline call goes to the live runner
(generation.services.live_runner, with the live jobs queued with it), every other job runs alone
(generation.services.runner). The one entry point for workers, ``manage.py generate`` and tests."""

from __future__ import annotations

import logging

from generation.models import GenerationJob
from generation.services import live_batching, live_runner, runner

log = logging.getLogger(__name__)


def execute_job(*, job_id, worker: str = "", heartbeat: bool = False, overlap: bool | None = None) -> GenerationJob | None:
    """Run a job to its end in this process (runner.execute_job says how failures end). A live job
    runs with the live jobs queued with it (``overlap``: its post-processing on a thread of its
    own; default: with ``heartbeat``, i.e. in a worker)."""
    job = runner.claim_job(job_id=job_id, worker=worker)
    if job is None:
        log.info("generation job %s is not runnable (finished, cancelled or owned by a live worker)", job_id)
        return GenerationJob.objects.filter(pk=job_id).first()
    if job.interactive and live_batching.takes_live_path(job):
        return live_runner.run_claimed(job, worker=worker, heartbeat=heartbeat, overlap=heartbeat if overlap is None else overlap)
    return runner.run_claimed_job(job, heartbeat=heartbeat)
