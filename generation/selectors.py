"""Reads for generation jobs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from config import caches
from config.errors import Unavailable
from garden.keys import LANDSCAPE, parse_key
from garden.selectors import image_url
from generation import kinds
from generation.dispatch import presence
from generation.models import GenerationJob
from generation.requests import ValidJob
from safety import images as safety_images


def jobs_visible_to(*, user) -> QuerySet[GenerationJob]:
    """Staff see every job; everyone else (API-token users) only their own."""
    jobs = GenerationJob.objects.select_related("created_by")
    if getattr(user, "is_staff", False):
        return jobs
    return jobs.filter(created_by=user) if getattr(user, "is_authenticated", False) else jobs.none()


def job_list(
    *, user, status: str = "", kind: str = "", emotion: str = "", backend: str = "", mine: bool = False
) -> QuerySet[GenerationJob]:
    """The jobs a user may see, filtered, newest first (with their images and the registered kinds'
    own rows, for the listing)."""
    jobs = jobs_visible_to(user=user).prefetch_related("images")
    if relations := kinds.relations():  # (select_related() with no names would follow every foreign key)
        jobs = jobs.select_related(*relations)
    filters = {name: value for name, value in (("status", status), ("kind", kind), ("emotion", emotion), ("backend", backend)) if value}
    if mine:
        filters["created_by"] = user
    return jobs.filter(**filters).order_by("-created_at")


def job_queue_position(job: GenerationJob) -> int | None:
    """1 = the next job its queue will start; None when the job is not waiting."""
    if job.status != GenerationJob.Status.QUEUED:
        return None
    ahead = GenerationJob.objects.queued(job.queue).filter(Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, id__lt=job.id))
    return ahead.count() + 1


def job_images(job: GenerationJob):
    """The pool images a job made, in plan order (index, landscape before portrait)."""
    return sorted(job.images.all(), key=lambda image: (parse_key(image.key).index, image.orientation != LANDSCAPE))


def job_result(job: GenerationJob, *, request=None) -> list[dict]:
    return [
        {
            "id": image.pk,
            "key": image.key,
            "url": image_url(image.key, request=request),
            "width": image.width,
            "height": image.height,
            "orientation": image.orientation,
            "seed": image.seed,
            "safety": safety_images.Verdict.of_image(image).as_dict(),
        }
        for image in job_images(job)
    ]


def recent_same_job(*, user, job: ValidJob, within: timedelta) -> GenerationJob | None:
    """This user's job for the same prompt and size started within ``within``, unless it failed or
    was cancelled: a reopened old text-to-image link shows that job instead of painting again."""
    return (
        GenerationJob.objects.filter(
            created_by=user,
            kind=job.kind,
            prompt=job.prompt,
            width=job.width,
            height=job.height,
            count=job.count,
            created_at__gte=timezone.now() - within,
        )
        .exclude(status__in=(GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED))
        .order_by("-created_at")
        .first()
    )


class TooManyWaiting(Unavailable):
    """Too many requests of this process already wait for their jobs (a 503: try again shortly)."""


class WaitSlots:
    """At most ``limit`` threads of this web process wait for jobs at once (``limit`` is a setting).

    Endpoints that answer only when their job is done hold a web thread for the whole job;
    unbounded, a burst of them would take every thread of the process. ``take()`` says whether a
    slot was free (``/text2image`` answers 202 without waiting when none is); ``hold()`` refuses
    with a 503 instead, and is taken *before* creating the job, so a refused request leaves
    nothing behind (``/sdapi/v1/img2img``, whose clients expect the finished image or an error):

        with slots.hold():
            job = create_…(); job = waits.wait_for_job(job.pk, seconds=…)
    """

    def __init__(self, setting: str) -> None:
        self.setting = setting
        self.waiting = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def take(self) -> Iterator[bool]:
        with self._lock:
            granted = self.waiting < getattr(settings, self.setting)
            self.waiting += granted
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self.waiting -= 1

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self.take() as granted:
            if not granted:
                limit = getattr(settings, self.setting)
                raise TooManyWaiting(
                    f"{limit} requests of this process already wait for their jobs ({self.setting}={limit}): try again shortly."
                )
            yield


# Waiting /text2image calls of this process (GARDEN_JOB_WAIT_SLOTS); past that they answer 202 at once.
text2image_waits = WaitSlots("GARDEN_JOB_WAIT_SLOTS")


def queue_counts(*, queue: str) -> dict[str, int]:
    waiting = GenerationJob.objects.in_flight().filter(queue=queue)
    counts = dict(waiting.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"queued": counts.get(GenerationJob.Status.QUEUED, 0), "running": counts.get(GenerationJob.Status.RUNNING, 0)}


def answering_workers(*, timeout: float) -> dict[str, Any]:
    """Celery workers that answer within ``timeout`` seconds, and the queues they consume (cached 5 s).

    One broadcast to every worker; a broker that cannot be reached gives no workers and its error.
    """
    cached = _workers.get(_WORKERS_CACHE_KEY)
    if cached is not None:
        return cached
    from config.celery import app

    answer: dict[str, Any]
    try:
        replies = app.control.inspect(timeout=timeout, limit=_expected_replies()).active_queues() or {}
        answer = {"workers": [{"name": name, "queues": sorted(q["name"] for q in queues)} for name, queues in sorted(replies.items())]}
    except Exception as exc:  # broker down or misconfigured: report it, never fail the status page
        answer = {"workers": [], "error": f"{type(exc).__name__}: {exc}"}
    _workers.set(_WORKERS_CACHE_KEY, answer)
    return answer


def _expected_replies() -> int | None:
    """How many replies end the broadcast early: one per worker present (each worker writes its presence
    row at start), so the status page does not always wait the whole timeout; None (wait) when unknown."""
    try:
        return presence.present_rows().count() or None
    except DatabaseError:  # the database is away: wait the whole timeout for whoever answers
        return None


_workers = caches.shared(
    owner=__name__,
    name="_workers",
    prefix="generation:answering-workers",
    ttl=5,
    key="one key: the workers that answered the last broadcast and their queues",
    fresh="nothing but time: a broadcast at most every 5 s whatever the number of status pages open",
)
_WORKERS_CACHE_KEY = _workers.key("")


def gpu_workers(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The workers of an ``answering_workers`` answer that consume GARDEN_GPU_QUEUE (diffusion needs one)."""
    return [worker for worker in answer["workers"] if settings.GARDEN_GPU_QUEUE in worker["queues"]]


# How long the job pages wait for workers to answer the banner's question (answering_workers caches 5 s).
QUEUE_CHECK_TIMEOUT = 1.0


def waiting_by_queue() -> dict[str, int]:
    """Queued jobs per queue (one grouped query on the status/queue index)."""
    rows = GenerationJob.objects.queued().values_list("queue").annotate(n=Count("id"))
    return {queue: n for queue, n in rows.values_list("queue", "n")}


def unconsumed_queues(*, timeout: float = QUEUE_CHECK_TIMEOUT) -> dict[str, Any]:
    """Queues where jobs wait and no live worker consumes them, for the job pages' banner.

    ``{"queues": [{"queue": "gpu", "waiting": 3}], "error": ""}``; ``error`` names a broker that
    cannot be reached (then every queue with waiting jobs is listed: nothing can receive them).
    The workers are asked only while some job waits, through ``answering_workers`` (cached 5 s).
    """
    waiting = waiting_by_queue()
    if not waiting:
        return {"queues": [], "error": ""}
    answer = answering_workers(timeout=timeout)
    consumed = {queue for worker in answer["workers"] for queue in worker["queues"]}
    queues = [{"queue": queue, "waiting": n} for queue, n in sorted(waiting.items()) if queue not in consumed]
    return {"queues": queues, "error": answer.get("error", "")}


def worker_command(queue: str) -> str:
    """The command that starts a worker for ``queue`` (docs/operations.md)."""
    concurrency = " --concurrency 1" if queue == settings.GARDEN_GPU_QUEUE else ""
    return f"celery -A config worker --queues {queue}{concurrency} --loglevel INFO"


def queue_warnings(*, timeout: float = QUEUE_CHECK_TIMEOUT) -> list[str]:
    """The job pages' banner lines: one per queue whose jobs nobody consumes (empty when all is well)."""
    state = unconsumed_queues(timeout=timeout)
    lines = []
    for entry in state["queues"]:
        words = {"count": entry["waiting"], "queue": entry["queue"]}
        if state["error"]:
            line = ngettext(
                "The broker cannot be reached (%(error)s): %(count)d job waits in queue %(queue)s and no worker can receive them.",
                "The broker cannot be reached (%(error)s): %(count)d jobs wait in queue %(queue)s and no worker can receive them.",
                entry["waiting"],
            ) % {**words, "error": state["error"][:200]}
        else:
            line = ngettext(
                "No worker is consuming queue %(queue)s: %(count)d job waits. Start a worker: %(command)s",
                "No worker is consuming queue %(queue)s: %(count)d jobs wait. Start a worker: %(command)s",
                entry["waiting"],
            ) % {**words, "command": worker_command(entry["queue"])}
        lines.append(line)
    return lines
