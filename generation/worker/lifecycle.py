"""A job's life on a worker, written once for the ordinary path (generation.worker.runner) and the
gathered one (generation.worker.gathered_run): claimed, prepared (model loaded, the call's ``Batch``),
painted with one step callback (toolbox.StepReporter), kept leased by its heartbeat, then succeeded,
dropped (cancelled, or its lease lost), requeued or failed. Every change a worker or the sweeper makes
to a job's state is written here and announced from here once committed (``announce``).

A worker *claims* a job with one conditional UPDATE and owns it while ``attempts`` equals the number
it claimed with; every later write is conditional on that (``attempt_rows``), so a worker that lost
its lease can never overwrite the state of the attempt that replaced it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial, reduce
from operator import or_

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config import clock
from generation import backends, changes
from generation.backends import Batch, hires
from generation.dispatch import beacon
from generation.dispatch import enqueue as broker
from generation.init_pictures import init_picture
from generation.models import GenerationJob
from generation.planning import ImageSpec
from generation.worker.notices import resumed_notice

log = logging.getLogger(__name__)

Status = GenerationJob.Status


def announce(jobs: Iterable[GenerationJob] = (), *, ids: Iterable = ()) -> None:
    """Say that these jobs changed once the change commits: the live ones of ``jobs`` (their start:
    a kiosk shows it), and ``ids`` whatever they are (an end, a requeue: once per job)."""
    said = [job.pk for job in jobs if job.live] + list(ids)
    if said:
        transaction.on_commit(partial(changes.announce_ids, said))


def attempt_rows(jobs: list[GenerationJob]):
    """The running rows of these jobs' attempts (each write of a run is conditional on them)."""
    rows = reduce(or_, (Q(pk=job.pk, attempts=job.attempts) for job in jobs))
    return GenerationJob.objects.filter(rows, status=Status.RUNNING)


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
        used_up = GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED, attempts__gte=settings.GARDEN_JOB_MAX_ATTEMPTS)
        fail(used_up, job_id=job_id, error="Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts.")
        return None
    job = GenerationJob.objects.get(pk=job_id)
    announce([job])  # a live job's kiosk sees it start
    return job


# --- prepare: the model loaded, the call's Batch --------------------------------------------------


def load_model(jobs: list[GenerationJob], extra: dict, *, timings: dict):
    """The jobs' backend with its model loaded (``extra``: the library's files, toolbox.library_files;
    its model entries are taken out), and the columns the first progress UPDATE writes (the loaded
    model, its scheduler, the stage). While a model loads the jobs say so (generation.progress)
    and the worker's presence says it (generation.dispatch.pull counts the model as not cold); only a
    real load is timed (the estimates take the next load's length from these)."""
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
        attempt_rows(jobs).update(stage=GenerationJob.Stage.LOADING, heartbeat_at=timezone.now())
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


# --- the ends of an attempt: every state a job is given after its claim is written here, one
# conditional UPDATE on the attempt's rows, and announced once it commits. Every end is announced,
# whatever the job: someone may wait for it (a kiosk, an A1111 client: a1111.waits), and it is one
# announcement per job.


def succeed(jobs: list[GenerationJob], *, timings: dict, counted: int | None = None) -> int:
    """The jobs' attempts succeeded (their pictures stored); ``counted``: the images' count, riding on
    this UPDATE (one write, not two). In a transaction, the announcement waits for its commit."""
    now = timezone.now()
    succeeded = attempt_rows(jobs).update(
        status=Status.SUCCEEDED,
        error="",  # an earlier attempt's error; what happened on the way stays in `notice`
        steps_done=F("steps_total"),
        finished_at=now,
        heartbeat_at=now,
        timings=timings,
        **({"images_done": counted, "progress_at": now} if counted is not None else {}),
    )
    if succeeded:
        announce(ids=[job.pk for job in jobs])
    return succeeded


def cancel(rows, *, job_id, **columns) -> bool:
    """``rows`` (one job's, a cancel asked for) end cancelled, with ``columns`` written too."""
    cancelled = bool(rows.update(status=Status.CANCELLED, finished_at=clock.now(), **columns))
    if cancelled:
        announce(ids=[job_id])
    return cancelled


def fail(rows, *, job_id, error: str) -> bool:
    """``rows`` (one job's) end failed with ``error``."""
    failed = bool(rows.update(status=Status.FAILED, error=error[:4000], finished_at=clock.now()))
    if failed:
        announce(ids=[job_id])
    return failed


def requeue(job: GenerationJob, rows, *, what: str, detail: str, resend: bool) -> bool:
    """``rows`` (``job``'s attempt) queued again, with a notice; ``resend``: its message sent again
    once this commits (else the caller's own message comes back: a redelivery, a task's retry)."""
    requeued = bool(
        rows.filter(cancel_requested=False).update(
            status=Status.QUEUED,
            heartbeat_at=None,
            progress_at=None,
            worker="",
            error=(f"{what.lower()}: {detail}" if detail else what.lower())[:4000],
            notice=resumed_notice(what, attempts=job.attempts, detail=detail),
            enqueued_at=clock.now(),
            send_failed=False,
        )
    )
    if requeued:
        announce(ids=[job.pk])
        if resend:
            transaction.on_commit(partial(broker.enqueue_job, job_id=job.pk, queue=job.queue, background=job.background))
    return requeued


def end_attempt(job: GenerationJob, rows, *, what: str, detail: str, resend: bool = False) -> str:
    """The one end of an attempt that will not finish: its worker stopped beating or hung (the
    sweeper), its pool process died (``resume_lost_job``), a transient failure (``requeue_job``,
    ``requeue_and_resend``). Cancelled if a cancel was asked, failed once GARDEN_JOB_MAX_ATTEMPTS
    attempts ran, else queued again (``requeue``). ``rows``: the attempt's row, matched only as the
    caller read it. Returns ``"cancelled"``, ``"failed"``, ``"requeued"`` or ``""`` (it changed meanwhile)."""
    with transaction.atomic():
        if job.cancel_requested:
            return "cancelled" if cancel(rows, job_id=job.pk) else ""
        if job.attempts >= settings.GARDEN_JOB_MAX_ATTEMPTS:
            error = f"{what} ({detail}) after {job.attempts} attempts (GARDEN_JOB_MAX_ATTEMPTS)."
            return "failed" if fail(rows, job_id=job.pk, error=error) else ""
        return "requeued" if requeue(job, rows, what=what, detail=detail, resend=resend) else ""


def drop(jobs: list[GenerationJob], *, timings: dict | None = None) -> None:
    """Jobs no longer ours to finish (the step callback stopped): a cancelled one ends cancelled; one
    whose lease was lost is left to the attempt that took it over."""
    columns = {} if timings is None else {"timings": timings}
    for job in jobs:
        asked = GenerationJob.objects.filter(pk=job.pk, attempts=job.attempts, cancel_requested=True)
        if not cancel(asked.exclude(status__in=GenerationJob.FINISHED), job_id=job.pk, **columns):
            log.warning("generation job %s: attempt %d lost its lease; leaving it to the next attempt", job.pk, job.attempts)


def fail_job(*, job_id, error: str, attempt: int | None = None) -> bool:
    """The job failed for good (unless it finished meanwhile, or ``attempt`` is no longer its own)."""
    jobs = GenerationJob.objects.filter(pk=job_id).exclude(status__in=GenerationJob.FINISHED)
    return fail(jobs if attempt is None else jobs.filter(attempts=attempt), job_id=job_id, error=error)


def requeue_job(*, job_id, error: str = "") -> bool:
    """A transient failure of the running job (``end_attempt``): True when it is queued again for a
    retry of the same message (the task's retry); else it ended (cancelled, failed) or is not running."""
    running = GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING)
    job = running.only("attempts", "cancel_requested").first()
    return job is not None and end_attempt(job, running.filter(attempts=job.attempts), what="Transient error", detail=error) == "requeued"


def requeue_and_resend(job: GenerationJob, error: str) -> bool:
    """A transient failure of a job whose message is not the one running (a gathered call's mate):
    queued again and its message sent again (``end_attempt``), or ended. True when requeued."""
    job.refresh_from_db(fields=["cancel_requested"])  # asked since the call began: it ends cancelled
    return end_attempt(job, attempt_rows([job]), what="Transient error", detail=error, resend=True) == "requeued"


def resume_lost_job(*, job_id, worker: str, reason: str) -> str:
    """A worker saw the process running this job die: queue the job again at once (``end_attempt``).

    Conditional on the job still running under ``worker``: a job that finished, or that another
    worker has claimed since, is left alone (``""``). The caller's own message redelivery (acks_late,
    reject_on_worker_lost) then claims it, with the images already stored kept.
    """
    running = GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING, worker=worker[:255])
    job = running.only("attempts", "cancel_requested").first()
    if job is None:
        return ""
    return end_attempt(job, running.filter(attempts=job.attempts), what="Worker lost", detail=reason)


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
