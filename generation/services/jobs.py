"""Job lifecycle: create, cancel, retry, and the requeue/fail transitions a worker reports.

The job row is the source of truth. Every transition is one conditional UPDATE, so two actors
(a user cancelling, a worker finishing, the sweeper) never both win.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict
from garden import keys
from generation import backends
from generation import enqueue as broker
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest, ValidJob
from generation.services import planning, sweeper


class JobStateError(Conflict):
    """The job is not in a state that allows this change (a 409)."""


def create_job(*, created_by=None, request: JobRequest, enqueue: bool = True) -> GenerationJob:
    """Validate the request, store a queued job and enqueue it once the transaction commits.

    Raises JobParameterError (a 400, naming each bad field) before anything is stored. Retouch
    jobs come with pictures: ``generation.services.retouch.create_retouch_job`` takes them.
    """
    valid = request.validate()
    if valid.kind in GenerationJob.RETOUCH_KINDS:
        raise JobParameterError(fields={"image": "A retouch job needs its source picture (create_retouch_job)."})
    job = new_job(valid=valid, created_by=created_by, enqueue=enqueue)
    batches = planning.job_batches(job)
    job.images_total = sum(len(batch) for batch in batches)
    job.steps_total = len(batches) * valid.steps
    return save_job(job=job, enqueue=enqueue)


def new_job(*, valid: ValidJob, created_by=None, enqueue: bool = True) -> GenerationJob:
    """The unsaved row of a validated request (totals are the caller's: they depend on the kind)."""
    backend = valid.backend
    now = timezone.now()
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
        retouch=valid.retouch,
        backend=backend,
        model_id=backends.model_id_for(backend),
        scheduler=settings.GARDEN_DIFFUSION_SCHEDULER if backend == backends.DIFFUSERS else "",
        # The painter needs no GPU: it runs on the default queue and never waits behind diffusion.
        queue=settings.GARDEN_GPU_QUEUE if backend == backends.DIFFUSERS else "default",
        timestr=keys.new_timestr(now),
        enqueued_at=now if enqueue else None,
    )


def save_job(*, job: GenerationJob, enqueue: bool = True) -> GenerationJob:
    with transaction.atomic():
        job.save()
        if enqueue:
            transaction.on_commit(partial(broker.enqueue_job, job_id=job.pk, queue=job.queue))
    # Cheap (one indexed query), and makes sure a lost worker's job is noticed even without beat.
    sweeper.sweep_stale_jobs()
    return job


def cancel_job(*, job: GenerationJob) -> GenerationJob:
    """Idempotent: a queued job never starts; a running one stops at its next denoising step."""
    now = timezone.now()
    with transaction.atomic():
        queued = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.QUEUED).update(
            status=GenerationJob.Status.CANCELLED, cancel_requested=True, finished_at=now
        )
        if not queued:
            GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


RETRYABLE = (GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED)


def retry_job(*, job: GenerationJob) -> GenerationJob:
    """Queue a failed or cancelled job again; images it already made are kept and not redone.

    Any other job raises JobStateError (a 409): only failed or cancelled jobs can be retried.
    """
    with transaction.atomic():
        updated = GenerationJob.objects.filter(pk=job.pk, status__in=RETRYABLE).update(
            status=GenerationJob.Status.QUEUED,
            cancel_requested=False,
            error="",
            attempts=0,
            worker="",
            finished_at=None,
            heartbeat_at=None,
            created_at=timezone.now(),  # back of the queue
            enqueued_at=timezone.now(),
        )
        if updated:
            transaction.on_commit(partial(broker.enqueue_job, job_id=job.pk, queue=job.queue))
    job.refresh_from_db()
    if not updated:
        raise JobStateError(f"Only failed or cancelled jobs can be retried; this one is {job.status}.")
    return job


def requeue_job(*, job_id, error: str = "") -> bool:
    """Put a running job back in the queue for a retry of the same message (transient failure)."""
    return bool(
        GenerationJob.objects.filter(
            pk=job_id, status=GenerationJob.Status.RUNNING, cancel_requested=False, attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS
        ).update(
            status=GenerationJob.Status.QUEUED,
            heartbeat_at=None,
            worker="",
            error=f"retrying after: {error}"[:4000] if error else "",
            enqueued_at=timezone.now(),  # the task retries its own message
        )
    )


def fail_job(*, job_id, error: str, attempt: int | None = None) -> bool:
    jobs = GenerationJob.objects.filter(pk=job_id).exclude(status__in=GenerationJob.FINISHED)
    if attempt is not None:
        jobs = jobs.filter(attempts=attempt)
    return bool(jobs.update(status=GenerationJob.Status.FAILED, error=error[:4000], finished_at=timezone.now()))
