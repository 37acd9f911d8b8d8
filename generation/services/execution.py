"""The one entry point for workers, ``manage.py generate`` and tests: claim a job and run it to its
end in this process. A live job goes to the runner the live app registered
(generation.worker_api.register_live_runner), with the live jobs queued with it; every other job
runs alone (generation.services.runner)."""

from __future__ import annotations

import logging

from generation import worker_api
from generation.models import GenerationJob
from generation.services import runner

log = logging.getLogger(__name__)


def execute_job(*, job_id, worker: str = "", heartbeat: bool = False, overlap: bool | None = None) -> GenerationJob | None:
    """Run a job to its end in this process; raises TransientJobError when a retry may help.

    Permanent failures (a model that cannot be loaded, bad parameters, anything unexpected) end the
    job as failed with a readable error; cancellation ends it as cancelled. ``heartbeat``: a
    background thread refreshes ``heartbeat_at`` while the job runs (workers pass True). A live job
    runs with the live jobs queued with it (``overlap``: its post-processing beside the next call;
    default: with ``heartbeat``, i.e. in a worker).
    """
    job = runner.claim_job(job_id=job_id, worker=worker)
    if job is None:
        log.info("generation job %s is not runnable (finished, cancelled or owned by a live worker)", job_id)
        return GenerationJob.objects.filter(pk=job_id).first()
    live = worker_api.live_runner(job)
    if live is not None:
        return live.run(job, worker=worker, heartbeat=heartbeat, overlap=heartbeat if overlap is None else overlap)
    return runner.run_claimed_job(job, heartbeat=heartbeat)
