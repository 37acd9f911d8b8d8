"""The worker side of a job: claim it, run its batches, store each image and its thumbnail.

A worker *claims* a job with one conditional UPDATE and owns it while ``attempts`` equals the
number it claimed with; every write it makes afterwards is conditional on that, so a worker that
lost its lease (the sweeper requeued its job) can never overwrite the state of the attempt that
replaced it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from config.errors import DomainError
from garden import thumbnails
from garden.models import Image
from garden.services import StorageError
from generation import backends, changes, kinds
from generation.backends import Batch, StepCallback, hires
from generation.models import GenerationJob
from generation.routing import model_key
from generation.services import presence
from generation.services.init_pictures import init_picture
from generation.services.jobs import fail_job
from generation.services.planning import ImageSpec, image_key, job_batches
from generation.worker.heartbeat import beating
from generation.worker.storing import store_generated_image
from library import cache as library_cache
from library import selectors as library
from library import store as library_store

log = logging.getLogger(__name__)


class TransientJobError(RuntimeError):
    """The attempt failed for a reason that a later attempt may not hit (DB, storage, GPU memory)."""


class JobStopped(Exception):
    """Raised from the step callback: the job was cancelled, or this worker lost its lease."""


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
        .update(
            status=GenerationJob.Status.RUNNING,
            attempts=F("attempts") + 1,
            worker=worker[:255],
            started_at=now,
            heartbeat_at=now,
            progress_at=now,
        )
    )
    if not claimed:
        # A queued job whose attempts are used up (transient failures) must not wait forever.
        GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED, attempts__gte=settings.GARDEN_JOB_MAX_ATTEMPTS).update(
            status=GenerationJob.Status.FAILED, error="Gave up after GARDEN_JOB_MAX_ATTEMPTS attempts.", finished_at=now
        )
        return None
    job = GenerationJob.objects.get(pk=job_id)
    changes.announce([job])  # a live job's kiosk sees it start
    return job


def run_claimed_job(job: GenerationJob, *, heartbeat: bool = False) -> GenerationJob | None:
    """The claimed ``job`` run alone (generation.worker.execution.execute_job claims it and says how
    failures end); raises TransientJobError when a retry may help."""
    attempt = job.attempts
    mine = GenerationJob.objects.filter(pk=job.pk, attempts=attempt, status=GenerationJob.Status.RUNNING)
    timings = dict(job.timings or {})
    try:
        with beating(lambda now: bool(mine.update(heartbeat_at=now)), interval=None if heartbeat else 0):
            counted = _run(job=job, mine=mine, timings=timings)
    except JobStopped:
        job.refresh_from_db()
        if job.cancel_requested and job.attempts == attempt:
            GenerationJob.objects.filter(pk=job.pk, attempts=attempt).exclude(status__in=GenerationJob.FINISHED).update(
                status=GenerationJob.Status.CANCELLED, finished_at=timezone.now(), timings=timings
            )
            changes.announce([job])
        else:
            log.warning("generation job %s: attempt %d lost its lease; leaving it to the next attempt", job.pk, attempt)
        job.refresh_from_db()
        return job
    except (backends.TransientBackendError, StorageError, DatabaseError) as exc:
        raise TransientJobError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        log.exception("generation job %s failed", job.pk)
        fail_job(job_id=job.pk, error=error_text(exc), attempt=attempt)
        job.refresh_from_db()
        return job
    now = timezone.now()
    mine.update(
        status=GenerationJob.Status.SUCCEEDED,
        error="",  # an earlier attempt's error; what happened on the way stays in `notice`
        steps_done=F("steps_total"),
        finished_at=now,
        heartbeat_at=now,
        timings=timings,
        # The last image's count rides on this UPDATE (one write, not two).
        **({"images_done": counted, "progress_at": now} if counted is not None else {}),
    )
    job.refresh_from_db()
    changes.announce([job])
    return job


def _run(*, job: GenerationJob, mine, timings: dict) -> int | None:
    """The job's images made; returns the count of its images when the last one is stored (for
    the finishing UPDATE to write), None when that count was written already or nothing was made."""
    kind = kinds.get(job.kind)
    if kind is not None:  # a kind an app above paints (generation.kinds)
        kind.run(job=job, mine=mine, timings=timings)
        return None
    if job.kind not in GenerationJob.Kind.values:
        raise RuntimeError(f"No installed app paints {job.kind} jobs (generation.kinds): is its app in INSTALLED_APPS?")
    extra = library_files(job)
    # A live job's model stays loaded whatever other jobs this worker runs (backends.LoadedPipelines).
    backend = backends.get_backend(
        job.backend,
        model=extra.pop("model_path", ""),
        label=job.model,
        pin=job.live,
        dtype=extra.pop("model_dtype", ""),  # the library entry's overrides of the worker's memory settings
        offload=extra.pop("model_offload", ""),
    )
    started = time.perf_counter()
    loading = getattr(backend, "pipeline", "") is None
    if loading:  # a model to load: say so while it loads (generation.worker.progress), and to the router
        mine.update(stage=GenerationJob.Stage.LOADING, heartbeat_at=timezone.now())
        presence.note_models(worker=job.worker, loading=model_key(job))
    backend.load()
    if loading:
        presence.note_models(worker=job.worker)
    # Only a real load is timed: generation.worker.progress takes the next load's length from these.
    timings["load"] = round(time.perf_counter() - started, 3) if loading else 0.0
    sampler = job.options.get("sampler", "") if job.backend == backends.DIFFUSERS else ""
    scheduler = backends.SAMPLERS.get(sampler) or backend.scheduler_name  # the job's sampler, else the model's own
    loaded = {"model_id": backend.model_id, "scheduler": scheduler, "stage": GenerationJob.Stage.PAINTING}
    job.model_id, job.scheduler = backend.model_id, scheduler
    held = backends.loaded_pipelines.loaded_names() if job.loras else None
    outcome = _generate_all(job=job, backend=backend, mine=mine, timings=timings, extra=extra, loaded=loaded)
    if held is not None and backends.loaded_pipelines.loaded_names() != held:  # a LoRA loaded: the router sends its jobs here
        presence.note_models(worker=job.worker)
    return outcome


def library_files(job: GenerationJob) -> dict:
    """The files of the job's library model, LoRAs and prompt embeddings, looked up now (a rescan may
    have moved them). A model or LoRA no longer in the library fails the job, naming it."""
    extra: dict = {}
    if job.backend != backends.DIFFUSERS:
        return extra
    with library_errors():
        if job.model:
            entry = library.resolve_model(job.model)
            extra["model_path"] = str(library_cache.local_path(entry, progress=fetch_reporter(job, entry.name)))
            extra["model_dtype"], extra["model_offload"] = entry.dtype, entry.offload
        if job.loras:
            loras = [library.resolve_lora(lora["name"]) for lora in job.loras]
            extra["lora_paths"] = {
                entry.name: str(library_cache.local_path(entry, progress=fetch_reporter(job, entry.name))) for entry in loras
            }
        extra |= vae_and_upscaler_files(job.options or {}, job=job)
        # The conditioning (generation.backends.conditioning) loads these textual inversions.
        extra["embeddings"] = embedding_files(job, f"{job.prompt}\n{job.negative_prompt}")
    return extra


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """The library's errors as the job's: its reason, a wait for the store, or a failure."""
    try:
        yield
    except library.UnusableEntry as exc:  # the library's own reason (its file gone, incomplete)
        raise backends.BackendError(str(exc)) from None
    except library.UnknownEntry as exc:
        raise backends.BackendError(f"{exc} (removed from the library since the job was queued)") from None
    except library_store.StoreUnavailable as exc:  # the job waits (requeued, its notice says why) and tries again
        raise backends.TransientBackendError(f"waiting for the model store: {exc}") from None
    except (library_store.StoreError, library_cache.CacheFull) as exc:
        raise backends.BackendError(str(exc)) from None


def embedding_files(job: GenerationJob, text: str) -> list[tuple[str, str]]:
    """``[(name, path on this host)]`` of the embeddings ``text`` names, fetched through the library's door."""
    with library_errors():
        return library_cache.embedding_paths(text, progress=fetch_reporter(job, "the prompt's embeddings") if job.pk else None)


def fetch_reporter(job: GenerationJob, name: str):
    """Progress of a model fetched onto this host (library.cache): the job's stage says "fetching"
    with the bytes done (in its notice, about once a second), and the notice is put back once done."""
    rows = GenerationJob.objects.filter(pk=job.pk)
    notice, last = job.notice, [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 1.0:
            return
        last[0] = now
        text = f"Fetching {name} onto this host: {done / 1e9:.2f} of {total / 1e9:.2f} GB" if done < total else notice
        rows.update(stage=GenerationJob.Stage.FETCHING if done < total else "", notice=text[:500], heartbeat_at=timezone.now())

    return report


def vae_and_upscaler_files(options: dict, *, job: GenerationJob | None = None) -> dict:
    """The job's VAE (``vae_path``) and hires upscaler (``upscaler_path``) files of the library, when
    it names them, on this host (fetched through library.cache.local_path)."""
    extra = {}

    def here(entry) -> str:
        return str(library_cache.local_path(entry, progress=fetch_reporter(job, entry.name) if job is not None and job.pk else None))

    if options.get("vae"):
        extra["vae_path"] = here(library.resolve_vae(options["vae"]))
    upscaler = (options.get("hires") or {}).get("upscaler", "")
    if upscaler and upscaler not in hires.BUILT_IN:
        extra["upscaler_path"] = here(library.resolve_upscaler(upscaler))
    return extra


def error_text(exc: BaseException) -> str:
    """A failed job's error as the job page shows it."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"Time limit exceeded ({settings.GARDEN_JOB_SOFT_TIME_LIMIT}s, GARDEN_JOB_SOFT_TIME_LIMIT)."
    if isinstance(exc, backends.BackendError | DomainError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _generate_all(*, job: GenerationJob, backend, mine, timings: dict, extra: dict | None = None, loaded: dict | None = None) -> int | None:
    done_keys = set(job.images.values_list("key", flat=True))
    options = job.options or {}
    live = job.live  # someone waits for it: the quick JPEG, no thumbnail (docs/live.md)
    todos = [[spec for spec in specs if image_key(job=job, spec=spec) not in done_keys] for specs in job_batches(job)]
    last_batch = max((number for number, todo in enumerate(todos) if todo), default=-1)
    throttle = ProgressThrottle(pending=loaded)  # the loaded model rides on the first progress UPDATE
    counted = None
    per_batch = hires.batch_steps(options, job.steps)  # a hires fix's second pass counts too
    for number, todo in enumerate(todos):
        base = number * per_batch
        if not todo:  # made by an earlier attempt
            continue

        on_step = step_reporter(mine, base=base, steps=per_batch, throttle=throttle)
        on_step(0)  # before the pipeline call: a cancel check (throttled for live jobs)
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
            extra=dict(extra or {}) | _bred_recipes(options, todo) | ({"eta": options["eta"]} if "eta" in options else {}),
            model=job.model,
            loras=tuple((lora["name"], float(lora["weight"])) for lora in job.loras or ()),
            sampler=options.get("sampler", ""),
            clip_skip=options.get("clip_skip") or 1,
            # A1111's variation seed: image n varies towards subseed + n, as its seed is seed + n.
            subseeds=[options["subseed"] + spec.seed - job.seed for spec in todo] if "subseed" in options else [],
            subseed_strength=options.get("subseed_strength", 0.0),
            # img2img (generation.init_image): the picture in this batch's orientation and size.
            init_image=init_picture(options["init_image"], width=todo[0].width, height=todo[0].height) if "init_image" in options else None,
            denoising_strength=options.get("denoising_strength", 0.0),
            vae=options.get("vae", ""),
            hires=hires.for_picture(options, todo[0].width, todo[0].height),
        )
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
            now = timezone.now()
            mine.update(images_done=counted, heartbeat_at=now, progress_at=now)
            counted = None
    if throttle.pending:  # every image was stored by an earlier attempt: still record the model
        mine.update(heartbeat_at=timezone.now(), **throttle.pending)
    return counted


def _bred_recipes(options: dict, todo: list[ImageSpec]) -> dict:
    """A bred job's recipes for the batch's pictures (one per index: a bulk pair shares one)."""
    if "recipes" not in options:
        return {}
    return {"recipes": [options["recipes"][spec.index] for spec in todo]}


class ProgressThrottle:
    """At most one progress UPDATE per ``interval`` seconds (0: every step), across a job's calls.

    ``pending``: columns for the next UPDATE that is written (the loaded model and scheduler).
    ``claimed``: count its start as a write (a live job's step 0 comes right after the claim wrote as much).
    """

    def __init__(self, interval: float = 0.0, *, pending: dict | None = None, claimed: bool = False) -> None:
        self.interval = interval
        self.pending = dict(pending or {})
        self.written = time.monotonic() if claimed and interval > 0 else float("-inf")

    def due(self, *, final: bool) -> bool:
        now = time.monotonic()
        if final or self.interval <= 0 or now - self.written >= self.interval:
            self.written = now
            return True
        return False


def step_reporter(mine, *, base: int, steps: int, throttle: ProgressThrottle | None = None) -> StepCallback:
    """The per-step callback of one pipeline call that runs ``steps`` steps after ``base`` earlier ones.

    Each written step is one UPDATE: progress, heartbeat, and (by its row count) whether the job is
    still ours and not cancelled. A ``throttle`` (gathered calls: GARDEN_GATHER_PROGRESS_SECONDS) skips the
    steps that come sooner than its interval after the last write; the call's last step is always
    written, with the throttle's pending columns if no step took them before.
    """

    def on_step(steps_done: int) -> None:
        if throttle is not None and not throttle.due(final=steps_done >= steps):
            return
        fields, now = {}, timezone.now()
        if throttle is not None:
            fields, throttle.pending = throttle.pending, {}
        done = base + min(steps_done, steps)
        if not mine.filter(cancel_requested=False).update(steps_done=done, heartbeat_at=now, progress_at=now, **fields):
            raise JobStopped

    return on_step


def make_thumbnail(*, image: Image, content: bytes | None = None) -> str:
    """The image's admin thumbnail, made now; never fails the job.

    On any error the image keeps an empty ``thumbnail_key`` and the admin makes the thumbnail
    lazily on first view (``garden.thumbnails``), as it does for imported images.
    """
    try:
        return thumbnails.ensure_thumbnail(image=image, content=content)
    except Exception as exc:
        if isinstance(exc, SoftTimeLimitExceeded):  # the job's time is up: stop the job, not just this
            raise
        log.warning("no thumbnail for %s (the admin will make it on first view)", image.key, exc_info=True)
        return ""
