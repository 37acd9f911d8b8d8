"""Generation services: jobs (create, run, cancel, retry, sweep) and storing generated images.

The job row is the source of truth. A worker *claims* a job with one conditional UPDATE and
owns it while ``attempts`` equals the number it claimed with; every write it makes afterwards is
conditional on that, so a worker that lost its lease (the sweeper requeued its job) can never
overwrite the state of the attempt that replaced it.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from garden import keys, thumbnails
from garden.models import Image
from garden.services import StorageError, create_image
from generation import backends
from generation.backends import Batch, procedural
from generation.imagefile import encode_jpeg
from generation.models import GenerationJob

log = logging.getLogger(__name__)

LANDSCAPE_SIZE = (1280, 800)
PORTRAIT_SIZE = (800, 1280)
DEFAULT_OTHERS = "flowers, fantasy, concept art, trending on artstation, highly detailed, intricate, sharp focus, digital art"
SEED_LIMIT = 2**32  # torch seeds are 64-bit; 32 bits keep them readable and portable to other tools


class JobParameterError(ValueError):
    """Parameters a job cannot run with; the message is meant for the client."""


class TransientJobError(RuntimeError):
    """The attempt failed for a reason that a later attempt may not hit (DB, storage, GPU memory)."""


class _JobStopped(Exception):
    """Raised from the step callback: the job was cancelled, or this worker lost its lease."""


@dataclass(frozen=True)
class ImageSpec:
    index: int
    orientation: str
    width: int
    height: int
    seed: int


# --- Parameters ---------------------------------------------------------------------------------


def compose_prompt(*, emotion_text: str, favorite: str = "", others: str | None = None) -> str:
    """`emotionText[, favorite], others` (the original dropped the favorite by a bug; we keep it)."""
    others = DEFAULT_OTHERS if others is None else others
    return ", ".join(part.strip() for part in (emotion_text, favorite, others) if part and part.strip())


def check_size(*, width: int, height: int) -> None:
    low = settings.GARDEN_MIN_SIZE
    for name, value, high in (("width", width, settings.GARDEN_MAX_WIDTH), ("height", height, settings.GARDEN_MAX_HEIGHT)):
        if not isinstance(value, int) or value % 8 or not low <= value <= high:
            raise JobParameterError(f"{name} must be a multiple of 8 between {low} and {high} (GARDEN_MAX_{name.upper()}); got {value!r}.")


def plan_images(*, kind: str, count: int, width: int, height: int, seed: int) -> list[ImageSpec]:
    """Every image a job makes, in order; image n of the plan uses seed + n."""
    if kind == GenerationJob.Kind.BULK:
        specs = []
        for index in range(count):
            specs.append(ImageSpec(index, keys.LANDSCAPE, width, height, seed + 2 * index))
            specs.append(ImageSpec(index, keys.PORTRAIT, height, width, seed + 2 * index + 1))
        return specs
    orientation = keys.PORTRAIT if height > width else keys.LANDSCAPE
    return [ImageSpec(index, orientation, width, height, seed + index) for index in range(count)]


def plan_batches(specs: list[ImageSpec], *, batch_size: int) -> list[list[ImageSpec]]:
    """Group images of the same size into pipeline calls of at most ``batch_size``, order kept."""
    by_size: dict[tuple[int, int], list[ImageSpec]] = {}
    for spec in specs:
        by_size.setdefault((spec.width, spec.height), []).append(spec)
    batch_size = max(1, batch_size)
    return [group[start : start + batch_size] for group in by_size.values() for start in range(0, len(group), batch_size)]


def job_batches(job: GenerationJob) -> list[list[ImageSpec]]:
    specs = plan_images(kind=job.kind, count=job.count, width=job.width, height=job.height, seed=job.seed)
    return plan_batches(specs, batch_size=settings.GARDEN_DIFFUSION_BATCH_SIZE)


def image_key(*, job: GenerationJob, spec: ImageSpec) -> str:
    return keys.build_key(
        prefix=keys.POOL_PREFIX,
        emotion=job.emotion,
        favorite=job.favorite,
        timestr=job.timestr,
        index=spec.index,
        orientation=spec.orientation,
    )


# --- Creating, cancelling, retrying -------------------------------------------------------------


def create_job(
    *,
    created_by=None,
    kind: str = GenerationJob.Kind.IMAGES,
    prompt: str = "",
    emotion: str = "",
    emotion_text: str = "",
    favorite: str = "",
    others: str | None = None,
    negative_prompt: str = "",
    width: int | None = None,
    height: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    seed: int | None = None,
    count: int = 1,
    backend: str | None = None,
    enqueue: bool = True,
) -> GenerationJob:
    """Validate, store a queued job and enqueue it once the transaction commits.

    ``emotion`` may be a search key (``calm/spring,cloudy,day``); ``favorite`` wins when both
    name one. Without ``prompt`` the prompt is composed from emotion_text (default: the emotion),
    favorite and others (default: the original's style words).
    """
    if kind not in GenerationJob.Kind.values:
        raise JobParameterError(f"kind must be one of {', '.join(GenerationJob.Kind.values)}.")
    if not emotion and prompt:
        emotion = settings.GARDEN_TEXT2IMAGE_EMOTION
    try:
        emotion, key_favorite = keys.parse_search_key(emotion)
        if favorite:
            _, favorite = keys.parse_search_key(f"{emotion}/{favorite}")
    except keys.InvalidKey as exc:
        raise JobParameterError(str(exc)) from None
    favorite = favorite or key_favorite
    if not prompt or not prompt.strip():
        prompt = compose_prompt(emotion_text=emotion_text or emotion, favorite=favorite, others=others)
    if kind == GenerationJob.Kind.BULK:
        width = LANDSCAPE_SIZE[0] if width is None else width
        height = LANDSCAPE_SIZE[1] if height is None else height
        check_size(width=height, height=width)  # the portrait of each pair swaps them
    else:
        width, height = 768 if width is None else width, 512 if height is None else height
    check_size(width=width, height=height)
    steps = settings.GARDEN_DEFAULT_STEPS if steps is None else steps
    if not 1 <= steps <= settings.GARDEN_MAX_STEPS:
        raise JobParameterError(f"steps must be between 1 and {settings.GARDEN_MAX_STEPS} (GARDEN_MAX_STEPS).")
    if not 1 <= count <= settings.GARDEN_MAX_COUNT:
        raise JobParameterError(f"count must be between 1 and {settings.GARDEN_MAX_COUNT} (GARDEN_MAX_COUNT).")
    guidance = settings.GARDEN_DEFAULT_GUIDANCE if guidance is None else float(guidance)
    if not 0 <= guidance <= 30:
        raise JobParameterError("guidance must be between 0 and 30.")
    seed = secrets.randbelow(SEED_LIMIT) if seed is None else int(seed)
    if not 0 <= seed < SEED_LIMIT:
        raise JobParameterError(f"seed must be between 0 and {SEED_LIMIT - 1}.")
    backend = backend or settings.GARDEN_GENERATOR_BACKEND
    if backend not in backends.BACKENDS:
        raise JobParameterError(f"backend must be one of {', '.join(backends.BACKENDS)}.")

    job = GenerationJob(
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        kind=kind,
        emotion=emotion,
        favorite=favorite,
        emotion_text=emotion_text,
        others=DEFAULT_OTHERS if others is None else others,
        prompt=prompt.strip(),
        negative_prompt=negative_prompt.strip(),
        width=width,
        height=height,
        steps=steps,
        guidance=guidance,
        seed=seed,
        count=count,
        backend=backend,
        model_id=backends.model_id_for(backend),
        scheduler=settings.GARDEN_DIFFUSION_SCHEDULER if backend == backends.DIFFUSERS else "",
        # The painter needs no GPU: it runs on the default queue and never waits behind diffusion.
        queue=settings.GARDEN_GPU_QUEUE if backend == backends.DIFFUSERS else "default",
        timestr=keys.new_timestr(timezone.now()),
        enqueued_at=timezone.now() if enqueue else None,
    )
    batches = job_batches(job)
    job.images_total = sum(len(batch) for batch in batches)
    job.steps_total = len(batches) * steps
    with transaction.atomic():
        job.save()
        if enqueue:
            transaction.on_commit(lambda: enqueue_job(job_id=job.pk, queue=job.queue))
    # Cheap (one indexed query), and makes sure a lost worker's job is noticed even without beat.
    sweep_stale_jobs()
    return job


def enqueue_job(*, job_id, queue: str) -> None:
    from generation.tasks import run_generation_job  # tasks import this module

    run_generation_job.apply_async(args=[str(job_id)], queue=queue)


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


def retry_job(*, job: GenerationJob) -> GenerationJob:
    """Queue a failed or cancelled job again. Images it already made are kept and not redone."""
    with transaction.atomic():
        updated = GenerationJob.objects.filter(pk=job.pk, status__in=[GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED]).update(
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
            transaction.on_commit(lambda: enqueue_job(job_id=job.pk, queue=job.queue))
    job.refresh_from_db()
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


def sweep_stale_jobs() -> int:
    """Requeue (or fail, after GARDEN_JOB_MAX_ATTEMPTS) running jobs whose worker stopped beating,
    and re-send queued jobs whose message may have been lost. Returns how many jobs it acted on.

    A worker writes ``heartbeat_at`` when it claims a job, around model loading and at every
    denoising step; a crashed or killed worker stops writing it. Runs when a worker starts, when
    a job is created, and periodically under celery beat.
    """
    return _sweep_running_jobs() + resend_lost_jobs()


def _sweep_running_jobs() -> int:
    deadline = timezone.now() - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS)
    swept = 0
    stale = GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=deadline) | Q(heartbeat_at__isnull=True)
    )
    for job in stale.only("id", "attempts", "heartbeat_at", "cancel_requested", "queue"):
        same = GenerationJob.objects.filter(
            pk=job.pk, status=GenerationJob.Status.RUNNING, attempts=job.attempts, heartbeat_at=job.heartbeat_at
        )
        lost = f"worker lost: no heartbeat for {settings.GARDEN_JOB_LEASE_SECONDS}s (GARDEN_JOB_LEASE_SECONDS)"
        if job.cancel_requested:
            swept += same.update(status=GenerationJob.Status.CANCELLED, finished_at=timezone.now())
        elif job.attempts >= settings.GARDEN_JOB_MAX_ATTEMPTS:
            swept += same.update(
                status=GenerationJob.Status.FAILED, error=f"{lost}, after {job.attempts} attempts", finished_at=timezone.now()
            )
        else:
            with transaction.atomic():
                if same.update(status=GenerationJob.Status.QUEUED, heartbeat_at=None, worker="", error=lost, enqueued_at=timezone.now()):
                    swept += 1
                    transaction.on_commit(lambda job=job: enqueue_job(job_id=job.pk, queue=job.queue))
    if swept:
        log.warning("swept %d stale generation job(s)", swept)
    return swept


def resend_lost_jobs() -> int:
    """Send again the message of every job queued for GARDEN_JOB_REQUEUE_AFTER_SECONDS since its last send.

    A broker that restarts without persistence (Redis here keeps nothing on disk) loses queued
    messages, and their jobs would wait forever. How long a job may genuinely wait behind others
    is not knowable, so a re-sent message for a job whose first message is still in the queue must
    be harmless, and it is: whichever message comes first claims the job with one conditional
    UPDATE (``claim_job``); the other finds it claimed or finished and does nothing. Each re-send
    bumps ``resends`` and ``enqueued_at`` on the row (one conditional UPDATE, so two sweepers never
    both send) and is logged. Cancelled jobs are never sent again.
    """
    after = settings.GARDEN_JOB_REQUEUE_AFTER_SECONDS
    if after <= 0:
        return 0
    now = timezone.now()
    deadline = now - timedelta(seconds=after)
    waiting = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False).filter(
        Q(enqueued_at__lt=deadline) | Q(enqueued_at__isnull=True, created_at__lt=deadline)
    )
    resent = []
    for job in waiting.only("id", "queue", "enqueued_at", "resends"):
        with transaction.atomic():
            same = GenerationJob.objects.filter(
                pk=job.pk, status=GenerationJob.Status.QUEUED, cancel_requested=False, enqueued_at=job.enqueued_at
            )
            if same.update(enqueued_at=now, resends=F("resends") + 1):
                resent.append(job)
                transaction.on_commit(lambda job=job: enqueue_job(job_id=job.pk, queue=job.queue))
    for job in resent:
        log.warning(
            "generation job %s: queued without a start for over %ds (GARDEN_JOB_REQUEUE_AFTER_SECONDS); message re-sent (re-send #%d)",
            job.pk,
            after,
            job.resends + 1,
        )
    return len(resent)


# --- Running ------------------------------------------------------------------------------------


def claim_job(*, job_id, worker: str = "") -> GenerationJob | None:
    """Atomically take a queued job (or a running one whose lease expired); None if not runnable.

    One conditional UPDATE (``WHERE status='queued' OR lease expired``): of two messages for the
    same job (a redelivery, a re-send by the sweeper) delivered at once, exactly one changes the
    row — PostgreSQL re-checks the WHERE after the first commits, SQLite serialises writers — and
    the other finds it claimed and runs nothing.
    """
    now = timezone.now()
    deadline = now - timedelta(seconds=settings.GARDEN_JOB_LEASE_SECONDS)
    runnable = Q(status=GenerationJob.Status.QUEUED) | Q(status=GenerationJob.Status.RUNNING, heartbeat_at__lt=deadline)
    claimed = (
        GenerationJob.objects.filter(runnable, pk=job_id, cancel_requested=False)
        .filter(attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS)
        .update(status=GenerationJob.Status.RUNNING, attempts=F("attempts") + 1, worker=worker[:255], started_at=now, heartbeat_at=now)
    )
    if not claimed:
        # A queued job whose attempts are used up (transient failures) must not wait forever.
        GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED, attempts__gte=settings.GARDEN_JOB_MAX_ATTEMPTS).update(
            status=GenerationJob.Status.FAILED, error="Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts.", finished_at=now
        )
        return None
    return GenerationJob.objects.get(pk=job_id)


def execute_job(*, job_id, worker: str = "") -> GenerationJob | None:
    """Run a job to its end in this process. Raises TransientJobError when a retry may help.

    Permanent failures (a model that cannot be loaded, bad parameters, anything unexpected) end
    the job as failed with a readable error; cancellation ends it as cancelled.
    """
    job = claim_job(job_id=job_id, worker=worker)
    if job is None:
        log.info("generation job %s is not runnable (finished, cancelled or owned by a live worker)", job_id)
        return GenerationJob.objects.filter(pk=job_id).first()
    attempt = job.attempts
    mine = GenerationJob.objects.filter(pk=job.pk, attempts=attempt, status=GenerationJob.Status.RUNNING)
    timings = dict(job.timings or {})
    try:
        backend = backends.get_backend(job.backend)
        started = time.perf_counter()
        backend.load()
        timings["load"] = round(time.perf_counter() - started, 3)
        mine.update(heartbeat_at=timezone.now(), model_id=backend.model_id, scheduler=backend.scheduler_name)
        job.model_id, job.scheduler = backend.model_id, backend.scheduler_name
        _generate_all(job=job, backend=backend, mine=mine, timings=timings)
    except _JobStopped:
        job.refresh_from_db()
        if job.cancel_requested and job.attempts == attempt:
            GenerationJob.objects.filter(pk=job.pk, attempts=attempt).exclude(status__in=GenerationJob.FINISHED).update(
                status=GenerationJob.Status.CANCELLED, finished_at=timezone.now(), timings=timings
            )
        else:
            log.warning("generation job %s: attempt %d lost its lease; leaving it to the next attempt", job.pk, attempt)
        job.refresh_from_db()
        return job
    except (backends.TransientBackendError, StorageError, DatabaseError) as exc:
        raise TransientJobError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        log.exception("generation job %s failed", job.pk)
        fail_job(job_id=job.pk, error=_error_text(exc), attempt=attempt)
        job.refresh_from_db()
        return job
    mine.update(
        status=GenerationJob.Status.SUCCEEDED,
        steps_done=F("steps_total"),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        timings=timings,
    )
    job.refresh_from_db()
    return job


def _error_text(exc: Exception) -> str:
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        return f"Time limit exceeded ({settings.GARDEN_JOB_SOFT_TIME_LIMIT}s, GARDEN_JOB_SOFT_TIME_LIMIT)."
    if isinstance(exc, backends.BackendError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _generate_all(*, job: GenerationJob, backend, mine, timings: dict) -> None:
    done_keys = set(job.images.values_list("key", flat=True))
    description = backend.describe()
    for number, batch_specs in enumerate(job_batches(job)):
        base = number * job.steps
        todo = [spec for spec in batch_specs if image_key(job=job, spec=spec) not in done_keys]
        if not todo:  # made by an earlier attempt
            continue

        def on_step(steps_done: int, base=base) -> None:
            # One UPDATE per step: progress, heartbeat, and (by its row count) whether the job
            # is still ours and not cancelled.
            if not mine.filter(cancel_requested=False).update(steps_done=base + min(steps_done, job.steps), heartbeat_at=timezone.now()):
                raise _JobStopped

        on_step(0)
        batch = Batch(
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            width=todo[0].width,
            height=todo[0].height,
            steps=job.steps,
            guidance=job.guidance,
            seeds=[spec.seed for spec in todo],
            emotion=job.emotion,
            favorite=job.favorite,
        )
        started = time.perf_counter()
        pictures = backend.generate(batch, on_step=on_step)
        timings["generate"] = round(timings.get("generate", 0.0) + time.perf_counter() - started, 3)
        for spec, picture in zip(todo, pictures, strict=True):
            started = time.perf_counter()
            image, content = store_generated_image(job=job, spec=spec, picture=picture, description=description)
            stored = time.perf_counter()
            # Before the image counts as done: review pages of a fresh batch never render one.
            make_thumbnail(image=image, content=content)
            timings["store"] = round(timings.get("store", 0.0) + stored - started, 3)
            timings["thumbnails"] = round(timings.get("thumbnails", 0.0) + time.perf_counter() - stored, 3)
            job.images.add(image)
            mine.update(images_done=F("images_done") + 1, heartbeat_at=timezone.now())


def generation_parameters(*, job: GenerationJob, spec: ImageSpec, description: dict) -> dict:
    """What is embedded in the file (EXIF) so a picture found alone says how to make it again."""
    return {
        **description,
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": spec.seed,
        "width": spec.width,
        "height": spec.height,
        "steps": job.steps,
        "guidance": job.guidance,
        "job": str(job.pk),
        "index": spec.index,
        "orientation": spec.orientation,
    }


def store_generated_image(*, job: GenerationJob, spec: ImageSpec, picture, description: dict) -> tuple[Image, bytes | None]:
    """The stored image and the JPEG bytes written (None when an earlier attempt stored it)."""
    key = image_key(job=job, spec=spec)
    existing = Image.objects.filter(key=key).first()
    if existing is not None:  # written by an attempt that lost its lease after storing it
        return existing, None
    parameters = generation_parameters(job=job, spec=spec, description=description)
    content = encode_jpeg(picture, parameters)
    image = create_image(
        key=key,
        content=content,
        width=spec.width,
        height=spec.height,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=spec.seed,
        generator=description.get("generator", job.backend),
        model_id=description.get("model_id", job.model_id),
        steps=job.steps,
        guidance=job.guidance,
    )
    return image, content


def make_thumbnail(*, image: Image, content: bytes | None = None) -> str:
    """The image's admin thumbnail, made now; never fails the job.

    On any error the image keeps an empty ``thumbnail_key`` and the admin makes the thumbnail
    lazily on first view (``garden.thumbnails``), as it does for imported images.
    """
    try:
        return thumbnails.ensure_thumbnail(image=image, content=content)
    except Exception as exc:
        if type(exc).__name__ == "SoftTimeLimitExceeded":  # the job's time is up: stop the job, not just this
            raise
        log.warning("no thumbnail for %s (the admin will make it on first view)", image.key, exc_info=True)
        return ""


# --- The procedural painter, outside jobs (demo seeding) -----------------------------------------


def paint_procedural_image(
    *, emotion: str, favorite: str, seed: int, width: int, height: int, index: int, timestr: str | None = None, serving: bool = False
) -> Image:
    """Paint one picture with the procedural backend and store it (pool, or serving when asked)."""
    orientation = keys.PORTRAIT if height > width else keys.LANDSCAPE
    key = keys.build_key(
        prefix=keys.SERVING_PREFIX if serving else keys.POOL_PREFIX,
        emotion=emotion,
        favorite=favorite,
        timestr=timestr or keys.new_timestr(timezone.now()),
        index=index,
        orientation=orientation,
    )
    prompt = f"procedural garden: {keys.search_key(emotion, favorite)}"
    parameters = {
        "generator": procedural.GENERATOR_NAME,
        "model_id": procedural.MODEL_ID,
        "prompt": prompt,
        "seed": seed,
        "width": width,
        "height": height,
    }
    picture = procedural.paint(emotion=emotion, favorite=favorite, seed=seed, width=width, height=height)
    content = encode_jpeg(picture, parameters)
    image = create_image(
        key=key,
        content=content,
        width=width,
        height=height,
        prompt=prompt,
        seed=seed,
        generator=procedural.GENERATOR_NAME,
        model_id=procedural.MODEL_ID,
        promoted_at=timezone.now() if serving else None,
    )
    make_thumbnail(image=image, content=content)
    return image
