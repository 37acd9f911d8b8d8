"""A job's life, written once: stored and sent (``store``, ``send``), claimed by a worker, prepared
(model loaded, the call's ``Batch``), painted with one step callback (toolbox.StepReporter) on the
ordinary path (generation.worker.runner) or the gathered one (generation.worker.gathered_run), kept
leased by its heartbeat, then ended.

The job table is written here and by ``Attempt`` (generation.worker.attempt), nowhere else
(tests/generation/test_job_writes.py traces every write). Here: the row's insert, the claim, and the
verbs of the web and the broker that no attempt owns (``cancel_queued``, ``ask_cancel``, ``retry``,
``resend``, ``mark_send_failed``). Once claimed, the attempt's rows are written only by its
``Attempt``: its progress and its ends (succeed, fail, cancel, drop, end, give_way). The verbs have
one shape, the Attempt's ends': keyword arguments only, one conditional UPDATE, announced once
committed when a waiter would see the change, and they return the status the row has after it —
or ``""`` when the row was not in the state the verb needs. The ends by a job's id (a task's retry,
a lost pool process) read the attempt and end it through its Attempt.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config import clock
from generation import backends
from generation.backends import Batch, hires
from generation.dispatch import beacon
from generation.dispatch import enqueue as broker
from generation.init_pictures import init_picture
from generation.models import GenerationJob
from generation.planning import ImageSpec
from generation.worker.attempt import NOT_OURS, Attempt, announce

log = logging.getLogger(__name__)

Status = GenerationJob.Status
RETRYABLE = (Status.FAILED, Status.CANCELLED)


# --- stored and sent: the row's insert, and its message (the job row is the truth, the message a wake-up) --


def store(*, job: GenerationJob, send: bool = True) -> GenerationJob:
    """Insert the new job's row; its message is sent once the caller's transaction commits."""
    with transaction.atomic():
        job.save(force_insert=True)
        if send:
            transaction.on_commit(partial(send_message, job_id=job.pk, queue=job.queue, background=job.background))
    return job


def send_message(*, job_id, queue: str, background: bool = False) -> bool:
    """Send the job's message (generation.dispatch.enqueue); a refused send marks the row for the
    sweeper (``mark_send_failed``) and never fails the caller."""
    if broker.enqueue_job(job_id=job_id, queue=queue, background=background) is not False:  # False: refused
        return True
    try:
        mark_send_failed(job_id=job_id)
    except Exception:  # the sweeper re-sends after GARDEN_JOB_REQUEUE_AFTER_SECONDS anyway
        log.warning("generation job %s: could not mark the failed send", job_id, exc_info=True)
    return False


def mark_send_failed(*, job_id) -> str:
    """The queued job's message was refused: the sweeper sends it again at its next run. Nobody
    waits on this (the job is still queued), so it is not announced."""
    return Status.QUEUED if GenerationJob.objects.queued().filter(pk=job_id).update(send_failed=True) else NOT_OURS


def resend(*, job: GenerationJob) -> str:
    """The sweeper's re-send of a queued job whose message may be lost: ``resends`` bumped and
    ``enqueued_at`` stamped only while the row is as the sweeper read it (``job.enqueued_at``), so
    two sweepers never both send; the message goes once this commits. Not announced: a waiter
    sees no change."""
    same = GenerationJob.objects.claimable().filter(pk=job.pk, enqueued_at=job.enqueued_at)
    if not same.update(enqueued_at=clock.now(), resends=F("resends") + 1, send_failed=False):
        return NOT_OURS
    transaction.on_commit(partial(send_message, job_id=job.pk, queue=job.queue, background=job.background))
    return Status.QUEUED


# --- the web's verbs (a cancel or a retry from the kiosk, the API, the admin, A1111, ComfyUI) --------


def cancel_queued(*, job_id) -> str:
    """A queued job cancelled before any worker starts it (``"cancelled"``); ``""`` if not queued."""
    queued = GenerationJob.objects.queued().filter(pk=job_id)
    if not queued.update(status=Status.CANCELLED, finished_at=clock.now(), cancel_requested=True):
        return NOT_OURS
    announce(ids=[job_id])  # someone may wait for it (a kiosk, an A1111 client)
    return Status.CANCELLED


def ask_cancel(*, job_id) -> str:
    """A running job asked to stop: its attempt ends it cancelled at its next step
    (toolbox.StepReporter, ``Attempt.drop``), and that end is announced. ``"running"``, or ``""``
    if not running."""
    return Status.RUNNING if GenerationJob.objects.running().filter(pk=job_id).update(cancel_requested=True) else NOT_OURS


def retry(*, job: GenerationJob) -> str:
    """A failed or cancelled job queued again at the back of the queue, its attempts counted afresh
    (the pictures it made are kept); its message is sent (to ``job.queue``) once this commits.
    ``""`` if it was neither failed nor cancelled."""
    now = clock.now()
    retried = GenerationJob.objects.filter(pk=job.pk, status__in=RETRYABLE).update(
        status=Status.QUEUED,
        cancel_requested=False,
        error="",
        notice="",
        send_failed=False,
        attempts=0,
        worker="",
        finished_at=None,
        heartbeat_at=None,
        created_at=now,  # back of the queue
        enqueued_at=now,
    )
    if not retried:
        return NOT_OURS
    announce(ids=[job.pk])
    transaction.on_commit(partial(send_message, job_id=job.pk, queue=job.queue, background=job.background))
    return Status.QUEUED


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


def end_and_resend(*, attempt: Attempt, what: str, detail: str) -> str:
    """``Attempt.end`` of an attempt no message of its own will run again (the sweeper's lost or
    hung attempts, a gathered call's follower): queued again, its message is sent once that commits."""
    ended = attempt.end(what=what, detail=detail)
    if ended == Status.QUEUED:
        for job in attempt.jobs:
            transaction.on_commit(partial(send_message, job_id=job.pk, queue=job.queue, background=job.background))
    return ended


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
