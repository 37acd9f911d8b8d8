"""A job's creation, cancel and retry: the request checked, the row written by lifecycle's verbs
(generation.worker.lifecycle, the job table's one writer with the worker's Attempt).

The job row is the source of truth. Every transition is one conditional UPDATE, so two actors
(a user cancelling, a worker finishing, the sweeper) never both win.
"""

from __future__ import annotations

from django.conf import settings

from config import clock
from config.errors import Conflict
from garden import keys
from generation import backends, kinds, planning
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest, ValidJob
from generation.worker import lifecycle
from library import selectors as library


class JobStateError(Conflict):
    """The job is not in a state that allows this change (a 409)."""


def create_job(
    *,
    created_by=None,
    request: JobRequest,
    enqueue: bool = True,
    background: bool = False,
    live: bool = False,
    queue: str = "",
) -> GenerationJob:
    """Validate the request, store a queued job and enqueue it once the transaction commits;
    ``background`` jobs (the gardener's) at a lower priority than the rest (generation.dispatch.enqueue).
    ``live``: someone waits for the picture now (the live app's jobs): the worker's lean
    path (``GenerationJob.live``). ``queue`` sends it to a queue of its own.

    Raises JobParameterError (a 400, naming each bad field) before anything is stored. Jobs of a
    kind another app registers (generation.kinds) are created by that app's service.
    """
    return create_valid_job(valid=request.validate(), created_by=created_by, enqueue=enqueue, background=background, live=live, queue=queue)


def create_valid_job(
    *,
    valid: ValidJob,
    created_by=None,
    enqueue: bool = True,
    background: bool = False,
    live: bool = False,
    queue: str = "",
) -> GenerationJob:
    """``create_job`` for a request the caller validated already (the live app validates before
    it cancels or counts anything, then creates inside its transaction)."""
    if kinds.get(valid.kind) is not None:
        raise JobParameterError(fields={"kind": f"{valid.kind} jobs are created by the service of the app that registers the kind."})
    job = new_job(valid=valid, created_by=created_by, enqueue=enqueue)
    job.background = background
    job.live = live
    job.queue = queue or job.queue
    batches = planning.job_batches(job)
    job.images_total = sum(len(batch) for batch in batches)
    job.steps_total = len(batches) * planning.batch_steps(job)
    return save_job(job=job, enqueue=enqueue)


def new_job(*, valid: ValidJob, created_by=None, enqueue: bool = True) -> GenerationJob:
    """The unsaved row of a validated request (totals are the caller's: they depend on the kind)."""
    backend = valid.backend
    now = clock.now()
    model_id = backends.model_id_for(backend)
    if valid.model:  # a pipeline of the model library: its folder
        model_id = str(library.listed_path(library.resolve_model(valid.model)))[:255]  # a label: the worker fetches the files
    return GenerationJob(
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        kind=valid.kind,
        emotion=valid.emotion,
        favorite=valid.favorite,
        emotion_text=valid.emotion_text,
        others=valid.others,
        prompt=valid.prompt,
        negative_prompt=valid.negative_prompt,
        width=valid.width,
        height=valid.height,
        steps=valid.steps,
        guidance=valid.guidance,
        seed=valid.seed,
        count=valid.count,
        loras=valid.loras,
        options=valid.options,
        backend=backend,
        model=valid.model,
        model_id=model_id,
        scheduler=settings.GARDEN_DIFFUSION_SCHEDULER if backend == backends.DIFFUSERS else "",
        # The painter needs no GPU: it runs on the default queue and never waits behind diffusion.
        queue=settings.GARDEN_GPU_QUEUE if backend == backends.DIFFUSERS else "default",
        timestr=keys.new_timestr(now),
        created_at=now,
        enqueued_at=now if enqueue else None,
    )


def save_job(*, job: GenerationJob, enqueue: bool = True) -> GenerationJob:
    """Store the job and send its message once the caller's transaction commits (lifecycle.store).
    No sweep of stale jobs here: that is the workers' housekeeping (generation.worker.sweeper, every
    GARDEN_JOB_SWEEP_SECONDS on every worker, and under beat), not a web request's."""
    return lifecycle.store(job=job, send=enqueue)


def cancel_job(*, job: GenerationJob) -> GenerationJob:
    """Idempotent: a queued job never starts; a running one stops at its next denoising step."""
    if not lifecycle.cancel_queued(job_id=job.pk):  # a running one: its worker ends it at its next step
        lifecycle.ask_cancel(job_id=job.pk)
    job.refresh_from_db()
    return job


def retry_job(*, job: GenerationJob) -> GenerationJob:
    """Queue a failed or cancelled job again; images it already made are kept and not redone.

    Any other job raises JobStateError (a 409): only failed or cancelled jobs can be retried.
    """
    retried = lifecycle.retry(job=job)
    job.refresh_from_db()
    if not retried:
        raise JobStateError(f"Only failed or cancelled jobs can be retried; this one is {job.status}.")
    return job
