"""A job's life on a worker, written once for the ordinary path (generation.worker.runner) and the
gathered one (generation.worker.gathered_run): claimed, prepared (model loaded, the call's ``Batch``),
painted with one step callback (toolbox.StepReporter), kept leased by its heartbeat, then ended.

The claim is here (one conditional UPDATE); from then on the attempt's rows are written only by its
``Attempt`` (generation.worker.attempt): its progress and its ends (succeed, fail, cancel, drop, end,
give_way), each conditional on the attempt and announced once committed. The ends by a job's id (a
task's retry, a lost pool process) read the attempt and end it the same way.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from generation import backends
from generation.backends import Batch, hires
from generation.dispatch import beacon
from generation.init_pictures import init_picture
from generation.models import GenerationJob
from generation.planning import ImageSpec
from generation.worker.attempt import Attempt, announce

log = logging.getLogger(__name__)

Status = GenerationJob.Status


# --- claim ------------------------------------------------------------------------------------------


def claim_job(*, job_id, worker: str = "", message: str = "") -> GenerationJob | None:
    """Atomically take a queued job (or a running one whose lease expired); None if not runnable.
    ``message``: the Celery message whose run claims it (a worker that loses that run's process
    finds the job by it, generation.worker.claim.job_of_message).

    One conditional UPDATE (``WHERE status='queued' OR lease expired``): of two messages for the
    same job (a redelivery, a re-send by the sweeper) delivered at once, exactly one changes the
    row — PostgreSQL re-checks the WHERE after the first commits, SQLite serialises writers — and
    the other finds it claimed and runs nothing.
    """
    now = timezone.now()
    deadline = now - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS)
    runnable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=deadline)
    claimed = (
        GenerationJob.objects.filter(runnable, pk=job_id, cancel_requested=False)
        .filter(attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS)
        .update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            worker=worker[:255],
            message_id=message[:255],
            started_at=now,
            heartbeat_at=now,
            progress_at=now,
        )
    )
    if not claimed:
        # A queued job whose attempts are used up (transient failures) must not wait forever.
        Attempt.spent(job_id=job_id).fail(error="Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts.")
        return None
    job = GenerationJob.objects.get(pk=job_id)
    announce([job])  # a live job's kiosk sees it start
    return job


# --- prepare: the model loaded, the call's Batch --------------------------------------------------


def load_model(attempt: Attempt, extra: dict, *, timings: dict):
    """The attempt's jobs' backend with its model loaded (``extra``: the library's files, toolbox.library_files;
    its model entries are taken out), and the columns the first progress UPDATE writes (the loaded
    model, its scheduler, the stage). While a model loads the jobs say so (generation.progress)
    and the worker's presence says it (generation.dispatch.pull counts the model as not cold); only a
    real load is timed (the estimates take the next load's length from these)."""
    jobs = attempt.jobs
    job = jobs[0]
    backend = backends.get_backend(
        job.backend,
        model=extra.pop("model_path", ""),
        label=job.model,
        pin=job.live,  # a live job's model stays loaded whatever else this worker runs (backends.LoadedPipelines)
        dtype=extra.pop("model_dtype", ""),  # the library entry's overrides of the worker's memory settings
        offload=extra.pop("model_offload", ""),
    )
    started = time.perf_counter()
    loading = getattr(backend, "pipeline", "") is None
    if loading:
        attempt.note(stage=GenerationJob.Stage.LOADING)
        beacon.note_models(worker=job.worker, loading=job.model or job.model_id)
    backend.load()
    if loading:
        beacon.note_models(worker=job.worker)
    timings["load"] = round(time.perf_counter() - started, 3) if loading else 0.0
    sampler = (job.options or {}).get("sampler", "") if job.backend == backends.DIFFUSERS else ""
    scheduler = backends.SAMPLERS.get(sampler) or backend.scheduler_name  # the job's sampler, else the model's own
    for each in jobs:
        each.model_id, each.scheduler = backend.model_id, scheduler
    return backend, {"model_id": backend.model_id, "scheduler": scheduler, "stage": GenerationJob.Stage.PAINTING}


def call_batch(jobs: list[GenerationJob], specs: list[ImageSpec], extra: dict) -> Batch:
    """One pipeline call: ``specs``, the pictures of one job (``jobs``: that job), or of a gathered
    call one picture per job, each with its own prompt (``extra["prompts"]``), seed and start picture."""
    job, options, first = jobs[0], jobs[0].options or {}, specs[0]
    # img2img (generation.init_image): each job's picture in this call's orientation and size.
    starts = [
        init_picture(each.options["init_image"], width=first.width, height=first.height)
        for each in jobs
        if "init_image" in (each.options or {})
    ]
    recipes = {"recipes": [options["recipes"][spec.index] for spec in specs]} if "recipes" in options else {}  # bred: one per picture
    return Batch(
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        width=first.width,
        height=first.height,
        steps=job.steps,
        guidance=job.guidance,
        seeds=[spec.seed for spec in specs],
        emotion=job.emotion,
        favorite=job.favorite,
        extra=dict(extra) | recipes | ({"eta": options["eta"]} if "eta" in options else {}),
        model=job.model,
        loras=tuple((lora["name"], float(lora["weight"])) for lora in job.loras or ()),
        sampler=options.get("sampler", ""),
        clip_skip=options.get("clip_skip") or 1,
        # A1111's variation seed: image n varies towards subseed + n, as its seed is seed + n.
        subseeds=[options["subseed"] + spec.seed - job.seed for spec in specs] if "subseed" in options else [],
        subseed_strength=options.get("subseed_strength", 0.0),
        init_image=(starts[0] if len(starts) == 1 else starts) if starts else None,
        denoising_strength=options.get("denoising_strength", 0.0),
        vae=options.get("vae", ""),
        hires=hires.for_picture(options, first.width, first.height),
    )


@contextlib.contextmanager
def advertising_loras(job: GenerationJob) -> Iterator[None]:
    """Around a job's calls: a LoRA they loaded is said in the worker's presence at once."""
    held = backends.loaded_pipelines.loaded_names() if job.loras else None
    yield
    if held is not None and backends.loaded_pipelines.loaded_names() != held:
        beacon.note_models(worker=job.worker)


# --- the ends of an attempt by the job's id (a task's retry, a lost pool process, a give-up): each
# reads the attempt and ends it through its Attempt (generation.worker.attempt), as a run's own ends do.


def fail_job(*, job_id, error: str, attempt: int | None = None) -> str:
    """The job failed for good (unless it finished meanwhile, or ``attempt`` is no longer its own)."""
    return Attempt.unfinished(job_id=job_id, attempt=attempt).fail(error=error)


def requeue_job(*, job_id, error: str = "") -> bool:
    """A transient failure of the running job (``Attempt.end``): True when it is queued again for a
    retry of the same message (the task's retry); else it ended (cancelled, failed) or is not running."""
    running = Attempt.running(job_id=job_id)
    return running is not None and running.end(what="Transient error", detail=error) == Status.QUEUED


def resume_lost_job(*, job_id, worker: str, reason: str) -> str:
    """A worker saw the process running this job die: queue the job again at once (``Attempt.end``).

    Conditional on the job still running under ``worker``: a job that finished, or that another
    worker has claimed since, is left alone (``""``). The caller's own message redelivery (acks_late,
    reject_on_worker_lost) then claims it, with the images already stored kept.
    """
    running = Attempt.running(job_id=job_id, worker=worker)
    return "" if running is None else running.end(what="Worker lost", detail=reason)


# --- the lease's heartbeat: a thread beats whatever the job does (a load of minutes writes no step),
# so the lease can be short and a job whose heartbeat stops is one whose process died or froze.
# Writes one beat (the attempt's ``heartbeat_at``, at the time given) and says whether to go on:
# False once no row of the attempt is left to beat (the job finished, or the attempt lost it).
Beat = Callable[[datetime], bool]


@contextlib.contextmanager
def beating(beat: Beat, *, interval: float | None = None) -> Iterator[None]:
    """Call ``beat`` every interval for the block; no thread when the interval is 0.

    The thread stops when the block ends, or when ``beat`` says so. It uses its own database
    connection and closes it when it stops.
    """
    interval = heartbeat_interval() if interval is None else interval
    if interval <= 0:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_beat, args=(beat, interval, stop), name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def heartbeat_interval() -> float:
    """GARDEN_JOB_HEARTBEAT_SECONDS, at most a third of the lease: a lease set shorter than the
    heartbeat (a test's 4 s lease) must not make a live job look dead between two beats."""
    interval = settings.GARDEN_JOB_HEARTBEAT_SECONDS
    if interval <= 0:
        return 0.0
    return min(interval, max(0.5, settings.GARDEN_JOB_LEASE_SECONDS / 3))


def _beat(beat: Beat, interval: float, stop: threading.Event) -> None:
    try:
        while not stop.wait(interval):
            try:
                if not beat(timezone.now()):
                    return
            except Exception:  # a database hiccup: the next beat may pass; the lease tolerates a few misses
                log.warning("job heartbeat failed", exc_info=True)
                close_old_connections()
    finally:
        connection.close()
