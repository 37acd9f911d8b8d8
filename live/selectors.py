"""Reads of the live picture: which painter paints it, whether a worker serves its queue, the
limits' counts, and a live job's status as the kiosk sees it (docs/live.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from config.status_facts import Fact
from garden import keys
from garden.models import Image
from garden.selectors import image_url
from generation import backends, waits
from generation.dispatch import presence
from generation.models import GenerationJob
from generation.querysets import GenerationJobQuerySet
from generation.selectors import WaitSlots
from library import selectors as library
from library.models import LibraryEntry

# A turbo model's own numbers when its library entry names none (1–4 steps, no guidance).
TURBO_STEPS, TURBO_GUIDANCE = 1, 0.0


@dataclass(frozen=True)
class Painter:
    """What paints live pictures: the library's live pipeline, or the procedural painter."""

    backend: str
    model: str = ""  # the library pipeline's name ("" for the procedural painter)
    steps: int | None = None  # None: the job request's default
    guidance: float | None = None


def live_painter() -> Painter | None:
    """The library's live model (marked, else the first turbo-class one: library.selectors.live_state);
    else the procedural painter when it is the default backend (the embedded default, so `make run`
    shows live pictures); else None (no live model: live_state says why and how to fix it)."""
    entry = library.live_state().entry
    if entry is not None:
        return painter_of(entry)
    if settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL:
        return Painter(backend=backends.PROCEDURAL, steps=1)  # no denoising: one progress step
    return None


def status_facts() -> list[Fact]:
    """The System status page's line on live pictures (config.status_facts): who paints them, or
    why nobody does and how to fix it."""
    label = gettext_lazy("Live pictures")
    if not settings.GARDEN_LIVE_ENABLED:
        return [Fact("live", label, gettext("off (GARDEN_LIVE_ENABLED)"))]
    state = library.live_state()
    if state.entry is not None:
        how = gettext("marked for live pictures") if state.marked else gettext("none is marked: the first turbo-class model")
        return [Fact("live", label, gettext("painted by %(name)s (%(how)s)") % {"name": state.entry.name, "how": how})]
    if settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL:
        return [Fact("live", label, gettext("painted by the procedural painter (the demo's: patterns, no model)"), demo=True)]
    return [Fact("live", label, gettext("none: no model paints them"), problem=state.problem)]


def painter_of(entry: LibraryEntry) -> Painter:
    turbo = entry.family == LibraryEntry.Family.TURBO
    steps = entry.default_steps or (TURBO_STEPS if turbo else None)
    guidance = entry.default_guidance if entry.default_guidance is not None else (TURBO_GUIDANCE if turbo else None)
    return Painter(backend=backends.DIFFUSERS, model=entry.name, steps=steps, guidance=guidance)


def live_worker_present() -> bool:
    """A worker serving GARDEN_LIVE_QUEUE wrote its presence within GARDEN_LIVE_WORKER_SECONDS and
    says it is ready, not warming (a row of the previous release says neither: ready); eager mode
    paints in this process: always."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    return presence.ready_worker_serves(settings.GARDEN_LIVE_QUEUE, within=settings.GARDEN_LIVE_WORKER_SECONDS)


def live_jobs() -> GenerationJobQuerySet:
    """The generation jobs that paint live pictures (those with a LiveRequest)."""
    return GenerationJob.objects.filter(live_request__isnull=False)


def in_flight_count() -> int:
    return live_jobs().in_flight().filter(queue=settings.GARDEN_LIVE_QUEUE).count()


def day_start(now: datetime | None = None) -> datetime:
    """Midnight of today in TIME_ZONE: the daily budget's day."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def seconds_to_tomorrow(now: datetime | None = None) -> int:
    now = now or timezone.now()
    tomorrow = day_start(now) + timedelta(days=1)
    return max(1, int((tomorrow - now).total_seconds()))


def used_today(now: datetime | None = None) -> int:
    return live_jobs().filter(created_at__gte=day_start(now)).count()


def visitor_jobs_in_flight(visitor_id: str) -> GenerationJobQuerySet:
    return live_jobs().in_flight().filter(live_request__visitor_id=visitor_id)


def abandoned_jobs() -> GenerationJobQuerySet:
    """Live jobs still queued after a kiosk's idle reset (GARDEN_KIOSK_IDLE_SECONDS): nobody is waiting
    for them (a kiosk that lost its network could not cancel), so they are cancelled when seen."""
    horizon = timezone.now() - timedelta(seconds=max(1, settings.GARDEN_KIOSK_IDLE_SECONDS))
    return live_jobs().queued().filter(created_at__lt=horizon)


def live_job(job_id) -> GenerationJob | None:
    """The live job of that id; None for any other job (staff jobs are not the kiosk's to read)."""
    return live_jobs().filter(pk=job_id).first()


# Long polls of this web process waiting at once (GARDEN_LIVE_WAIT_SLOTS); past that they answer at once.
live_waits = WaitSlots("GARDEN_LIVE_WAIT_SLOTS")


def live_job_when_changed(job_id, *, seconds: float) -> GenerationJob | None:
    """``live_job``, answered once its worker announces a change of it (generation.changes: its
    start, its end) or after ``seconds`` at most: one read before the wait, one after, none in
    between (generation.waits, the one wait for a job, in the web server's waiting pool)."""
    if seconds <= 0:
        return live_job(job_id)
    with live_waits.take() as granted:
        if not granted:  # every slot of this process waits already: the kiosk asks again
            return live_job(job_id)
        return waits.wait_for_job(job_id, seconds=seconds, reread=None, first_change=True, find=lambda: live_job(job_id))


def source_image(key: str) -> Image | None:
    """The picture a live picture may start from: a garden image, not rejected nor quarantined."""
    try:
        keys.parse_key(key)
    except keys.InvalidKey:
        return None
    image = Image.objects.with_key(key).not_rejected().first()
    return None if image is None or image.quarantined else image


@dataclass(frozen=True)
class LiveStatus:
    job: GenerationJob
    image: Image | None  # given only when the check passed it or a curator released it
    withheld: bool  # succeeded, but its picture is not cleared (flagged, unchecked) or gone

    def as_body(self, *, request) -> dict:
        picture = None
        if self.image is not None:
            picture = {"url": image_url(self.image.key, request=request), "key": self.image.key, "emotion": self.image.emotion}
        return {
            "job": str(self.job.pk),
            "status": self.job.status,
            "progress": self.job.progress,
            "image": picture,
            "withheld": self.withheld,
        }


def live_status(job: GenerationJob) -> LiveStatus:
    if job.status != GenerationJob.Status.SUCCEEDED:
        return LiveStatus(job=job, image=None, withheld=False)
    image = job.images.not_rejected().order_by("id").first()
    if image is None or not image.cleared:
        return LiveStatus(job=job, image=None, withheld=True)
    return LiveStatus(job=job, image=image, withheld=False)
