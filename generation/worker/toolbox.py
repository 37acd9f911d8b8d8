"""What every painting path of a worker uses (the ordinary and gathered paths of generation.worker,
and the runners of the kinds above, retouch.runner): how an attempt stops or fails, its step
callback and its throttle, the library's files of a job, a picture's thumbnail."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from config.errors import DomainError
from garden import thumbnails
from garden.models import Image
from generation import backends
from generation.backends import hires
from generation.models import GenerationJob
from generation.worker.attempt import Attempt
from library import cache as library_cache
from library import selectors as library
from library import store as library_store

log = logging.getLogger(__name__)


class TransientJobError(RuntimeError):
    """The attempt failed for a reason that a later attempt may not hit (DB, storage, GPU memory).
    ``job_id``: the job whose attempt failed (a message may have claimed another job than it names)."""

    def __init__(self, error: str, *, job_id=None) -> None:
        super().__init__(error)
        self.job_id = job_id


class JobStopped(Exception):
    """Raised from the step callback: the job was cancelled, or this worker lost its lease."""


def error_text(exc: BaseException) -> str:
    """A failed job's error as the job page shows it."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"Time limit exceeded ({settings.GARDEN_JOB_SOFT_TIME_LIMIT}s, GARDEN_JOB_SOFT_TIME_LIMIT)."
    if isinstance(exc, backends.BackendError | DomainError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


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


class StepReporter:
    """The step callback of one pipeline call that runs ``steps`` steps after ``base`` earlier ones,
    for the ``attempt`` it paints for (one job's, or a gathered call's).

    Each written step is one UPDATE: progress, heartbeat, and (by its row count, kept in ``running``)
    which jobs are still ours and not cancelled; none left stops the call (JobStopped). A
    ``throttle`` (gathered calls: GARDEN_GATHER_PROGRESS_SECONDS) skips the steps that come sooner
    than its interval after the last write; the call's last step is always written, with the
    throttle's pending columns if no step took them before.
    """

    def __init__(self, attempt: Attempt, *, base: int = 0, steps: int, throttle: ProgressThrottle | None = None) -> None:
        self.attempt, self.base, self.steps, self.throttle = attempt, base, steps, throttle
        self.running: int | None = None  # rows the last write found running and not cancelled

    def __call__(self, steps_done: int) -> None:
        if self.throttle is not None and not self.throttle.due(final=steps_done >= self.steps):
            return
        fields, now = {}, timezone.now()
        if self.throttle is not None:
            fields, self.throttle.pending = self.throttle.pending, {}
        done = self.base + min(steps_done, self.steps)
        self.running = self.attempt.step(steps_done=done, heartbeat_at=now, progress_at=now, **fields)
        if not self.running:
            raise JobStopped


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
    attempt = Attempt([job])
    notice, last = job.notice, [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 1.0:
            return
        last[0] = now
        text = f"Fetching {name} onto this host: {done / 1e9:.2f} of {total / 1e9:.2f} GB" if done < total else notice
        attempt.note(stage=GenerationJob.Stage.FETCHING if done < total else "", notice=text[:500])

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
