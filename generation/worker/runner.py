"""Running a job: ``execute_job``, the one entry point for workers, ``manage.py generate`` and tests,
claims it and runs it alone (the ordinary path below: its batches painted one call each, each image
stored with its thumbnail) or with the queued jobs that share its call (generation.worker.gathered_run).
Either path writes the job's row only through its ``Attempt`` (generation.worker.attempt), which a
kind an app above registers is handed too (generation.kinds)."""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.utils import timezone

from garden.services import StorageError
from generation import backends, kinds
from generation.backends import hires
from generation.models import GenerationJob
from generation.planning import image_key, job_batches
from generation.worker import claim, gathering, lifecycle, yielding
from generation.worker.attempt import Attempt
from generation.worker.gathered_run import run_gathered
from generation.worker.lifecycle import beating
from generation.worker.storing import store_generated_image
from generation.worker.toolbox import (
    JobStopped,
    ProgressThrottle,
    StepReporter,
    TransientJobError,
    error_text,
    library_files,
    make_thumbnail,
)

log = logging.getLogger(__name__)


def execute_job(*, job_id, worker: str = "", heartbeat: bool = False, message: str = "") -> GenerationJob | None:
    """Run a job to its end in this process; raises TransientJobError when a retry may help.

    Permanent failures (a model that cannot be loaded, bad parameters, anything unexpected) end the
    job as failed with a readable error; cancellation ends it as cancelled. ``heartbeat``: a
    background thread refreshes ``heartbeat_at`` while the job runs (workers pass True). A
    gatherable job runs with the jobs queued with it, finished in the worker's finishing processes
    where it has them (generation.worker.finishing_processes), else inline. ``message``: the Celery
    message a worker got, a wake-up call for its queue: the job this worker paints best now is run,
    not necessarily ``job_id`` (generation.worker.claim); without one, ``job_id`` itself.
    """
    # A message is a wake-up call for its queue (the best job of it for this worker); no message, this job.
    job = claim.claim_next(job_id=job_id, worker=worker, message=message) if message else claim.claim_named(job_id=job_id, worker=worker)
    if job is None:
        log.info("generation job %s: nothing runnable for it (finished, cancelled or claimed by another worker)", job_id)
        return GenerationJob.objects.filter(pk=job_id).first()
    if gathering.gatherable(job):
        return run_gathered(job, worker=worker, heartbeat=heartbeat)
    return run_claimed_job(job, heartbeat=heartbeat)


def run_claimed_job(job: GenerationJob, *, heartbeat: bool = False) -> GenerationJob | None:
    """The claimed ``job`` run alone (``execute_job`` claims it and says how failures end); raises
    TransientJobError when a retry may help."""
    attempt = Attempt([job])
    timings = dict(job.timings or {})
    try:
        with beating(attempt.beat, interval=None if heartbeat else 0):
            counted = _run(job=job, attempt=attempt, timings=timings)
    except JobStopped:
        attempt.drop(timings=timings)
    except yielding.Yielded:  # foreground before background: queued again, its pictures kept
        pass
    except (backends.TransientBackendError, StorageError, DatabaseError) as exc:
        raise TransientJobError(f"{type(exc).__name__}: {exc}", job_id=job.pk) from exc
    except Exception as exc:
        log.exception("generation job %s failed", job.pk)
        attempt.fail(error=error_text(exc))
    else:
        attempt.succeed(timings=timings, counted=counted)
    job.refresh_from_db()
    return job


def _run(*, job: GenerationJob, attempt: Attempt, timings: dict) -> int | None:
    """The job's images made; returns the count of its images when the last one is stored (for
    the finishing UPDATE to write), None when that count was written already or nothing was made."""
    kind = kinds.get(job.kind)
    if kind is not None:  # a kind an app above paints (generation.kinds)
        kind.run(job=job, attempt=attempt, timings=timings)
        return None
    if job.kind not in GenerationJob.Kind.values:
        raise RuntimeError(f"No installed app paints {job.kind} jobs (generation.kinds): is its app in INSTALLED_APPS?")
    extra = library_files(job)
    backend, loaded = lifecycle.load_model(attempt, extra, timings=timings)
    with lifecycle.advertising_loras(job):
        return _generate_all(job=job, backend=backend, attempt=attempt, timings=timings, extra=extra, loaded=loaded)


def _generate_all(*, job: GenerationJob, backend, attempt: Attempt, timings: dict, extra: dict, loaded: dict) -> int | None:
    done_keys = set(job.images.values_list("key", flat=True))
    live = job.live  # someone waits for it: the quick JPEG, no thumbnail (docs/live.md)
    todos = [[spec for spec in specs if image_key(job=job, spec=spec) not in done_keys] for specs in job_batches(job)]
    last_batch = max((number for number, todo in enumerate(todos) if todo), default=-1)
    throttle = ProgressThrottle(pending=loaded)  # the loaded model rides on the first progress UPDATE
    counted, painted = None, False
    per_batch = hires.batch_steps(job.options or {}, job.steps)  # a hires fix's second pass counts too
    for number, todo in enumerate(todos):
        if not todo:  # made by an earlier attempt
            continue
        if painted:  # between two calls: a background job gives way to waiting foreground work
            yielding.give_way(job, attempt, timings=timings)
        painted = True
        on_step = StepReporter(attempt, base=number * per_batch, steps=per_batch, throttle=throttle)
        on_step(0)  # before the pipeline call: a cancel check
        batch = lifecycle.call_batch([job], todo, extra)
        started = time.perf_counter()
        pictures = backend.generate(batch, on_step=on_step)
        nsfw = backend.safety_flags(pictures)  # the model's own checker, if it ships one (recorded only)
        description = backend.describe()  # after the call: the batch's sampler and LoRAs
        timings["generate"] = round(timings.get("generate", 0.0) + time.perf_counter() - started, 3)
        for position, (spec, picture, flag) in enumerate(zip(todo, pictures, nsfw, strict=True)):
            started = time.perf_counter()
            if "recipes" in batch.extra:  # each picture its own recipe
                description = backend.describe_picture(position)
            image, content = store_generated_image(
                job=job, spec=spec, picture=picture, description=description, diffusers_nsfw=flag, quick=live
            )
            stored = time.perf_counter()
            timings["store"] = round(timings.get("store", 0.0) + stored - started, 3)
            # Before the image counts as done, so review pages of a fresh batch never render one. Not
            # for live jobs: the GPU worker goes on to the next visitor, and the admin makes
            # the thumbnail on first view (as for imported pictures), if anyone looks.
            if not live:
                make_thumbnail(image=image, content=content)
                timings["thumbnails"] = round(timings.get("thumbnails", 0.0) + time.perf_counter() - stored, 3)
            job.images.add(image)
            # Counted, not incremented: an attempt killed between storing and counting is not off by one.
            counted = job.images.count()
            if number == last_batch and position == len(todo) - 1:
                break  # the last image: the finishing UPDATE writes its count
            attempt.note(images_done=counted, progress_at=timezone.now())
            counted = None
    if throttle.pending:  # every image was stored by an earlier attempt: still record the model
        attempt.note(**throttle.pending)
    return counted
