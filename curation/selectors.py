"""Reads for curation: the review queue, its counts, cached filter choices, fast page counts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connections
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext

from config import caches
from garden.models import Emotion, Image
from generation import lineage, planning, progress
from generation.models import GenerationJob
from generation.requests import ORIGINS
from generation.services.jobs import new_job


class Scope:
    """Which images a review page walks through."""

    PENDING = "pending"  # pool, not yet kept: the work left
    KEPT = "kept"  # pool, kept: the next promotion
    REJECTED = Image.Status.REJECTED.value  # soft-rejected: to un-reject before a purge
    CHOICES = (PENDING, KEPT, REJECTED)


REVIEW_PAGE_SIZE = 100


@dataclass(frozen=True)
class ReviewFilters:
    """Which images the review page shows: an emotion, a favorite, one generation job's batch."""

    emotion: str = ""
    favorite: str | None = None  # None: any favorite ("" is the no-favorite folder)
    job: GenerationJob | None = None

    def as_kwargs(self) -> dict:
        return {"emotion": self.emotion, "favorite": self.favorite, "job": self.job}


def parse_review_filters(data: Mapping) -> ReviewFilters:
    """Filters from a query string or a JSON body; anything unknown or malformed means "all"."""
    emotion = data.get("emotion")
    favorite = data.get("favorite")
    job_id = data.get("job")
    job = None
    if isinstance(job_id, str) and job_id:
        try:
            job = GenerationJob.objects.filter(pk=uuid.UUID(job_id)).first()
        except ValueError:
            job = None
    return ReviewFilters(
        emotion=emotion if isinstance(emotion, str) and emotion in Emotion.values else "",
        favorite=favorite if isinstance(favorite, str) and favorite else None,
        job=job,
    )


def review_queryset(*, scope: str = Scope.PENDING, emotion: str = "", favorite: str | None = None, job=None) -> QuerySet[Image]:
    if scope == Scope.KEPT:
        queryset = Image.objects.kept()
    elif scope == Scope.REJECTED:
        queryset = Image.objects.rejected()
    else:
        queryset = Image.objects.undecided()
    if emotion:
        queryset = queryset.filter(emotion=emotion)
    if favorite is not None:
        queryset = queryset.filter(favorite=favorite)
    if job is not None:
        # One generation job's images (the M2M is generation's: Image.generation_jobs).
        queryset = queryset.filter(generation_jobs=job)
    elif not settings.GARDEN_A1111_REVIEW_POOL:  # API clients' pictures (a1111.txt2img and the ComfyUI door mark them)
        queryset = queryset.filter(Q(parameters__origin__isnull=True) | ~Q(parameters__origin__in=ORIGINS))  # a missing key is NULL
    return queryset.order_by("-created_at", "-id")


REVIEW_FIELDS = (
    *("pk", "key", "status", "kept", "emotion", "favorite", "orientation", "width", "height", "prompt", "seed"),
    *("thumbnail_key", "parameters"),
    *("safety_verdict", "safety_score", "safety_reason", "safety_released"),
)


def thumbnail_url(image: Image) -> str:
    """The stored thumbnail, or the admin URL that renders it on first request (then redirects)."""
    if image.thumbnail_key:
        return default_storage.url(image.thumbnail_key)
    return reverse("admin:garden_image_thumbnail", args=[image.pk])


def review_items(*, queryset: QuerySet[Image], limit: int = REVIEW_PAGE_SIZE) -> list[dict]:
    """One page of the review queue as plain data for the page's JS (one query, no per-row I/O)."""
    items = []
    for image in queryset.only(*REVIEW_FIELDS)[:limit]:
        items.append(
            {
                "id": image.pk,
                "key": image.key,
                "status": image.status,
                "kept": image.kept,
                "emotion": image.emotion,
                "favorite": image.favorite,
                "orientation": image.orientation,
                "size": f"{image.width}x{image.height}",
                "prompt": image.prompt[:300],
                "seed": image.seed,
                "lineage": lineage.describe(lineage.image_lineage(image.parameters)),
                "thumb": thumbnail_url(image),
                "full": default_storage.url(image.key),
                "change": reverse("admin:garden_image_change", args=[image.pk]),
                # A flagged picture is blurred and labelled (curation/images.css, review.js).
                "quarantined": image.quarantined,
                "safety": _safety_text(image),
            }
        )
    return items


def _safety_text(image: Image) -> str:
    if not image.quarantined:
        return ""
    score = f" {image.safety_score:.2f}" if image.safety_score is not None else ""
    return f"quarantined: flagged{score}" + (f" ({image.safety_reason})" if image.safety_reason else "")


def review_counts(*, emotion: str = "", favorite: str | None = None, job=None) -> dict[str, int]:
    """How many are left to review and how many keepers wait for promotion (indexed counts)."""
    return {
        "left": review_queryset(scope=Scope.PENDING, emotion=emotion, favorite=favorite, job=job).order_by().count(),
        "kept": review_queryset(scope=Scope.KEPT, emotion=emotion, favorite=favorite, job=job).order_by().count(),
    }


_distinct = caches.shared(
    owner=__name__,
    name="_distinct",
    prefix="curation:distinct:",
    ttl=300,
    key="an image column's name: its distinct values (the admin's filter choices)",
    fresh="nothing but time: a new value shows in the filters within the time to live",
)


def distinct_values(*, field: str) -> list[str]:
    """Distinct values of a low-cardinality column, cached: a DISTINCT over 100k rows per page is waste."""
    cache_key = _distinct.key(field)
    values = _distinct.get(cache_key)
    if values is None:
        values = sorted(v for v in Image.objects.all_pictures().order_by().values_list(field, flat=True).distinct() if v)[:200]
        _distinct.set(cache_key, values)
    return values


def estimated_row_count(*, model) -> int | None:
    """PostgreSQL's planner estimate of a table's rows (free), or None elsewhere / when unknown."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    if not row or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def bulk_time_text(valid, *, jobs: int) -> str:
    """How long a bulk form's ``jobs`` jobs of one validated request (generation.requests.ValidJob)
    would take, at their queue's recent pace (generation.progress), the jobs already waiting there
    and the model's load included; what the plan says when no job of that painter finished there yet."""
    job = new_job(valid=valid, enqueue=False)
    batches = planning.job_batches(job)
    job.images_total, job.steps_total = sum(len(batch) for batch in batches), len(batches) * planning.batch_steps(job)
    estimates = progress.Estimates()
    first, speed = estimates.seconds_left(job), estimates.speed(job)
    whole = speed.whole(job, with_load=False) if speed else None
    if first is None or whole is None:
        return gettext("No time estimate yet: no job of this painter has finished on its queue.")
    seconds = first + whole * (jobs - 1)
    if seconds < 90:
        return gettext("All done in about %(seconds)d s at the queue's recent pace.") % {"seconds": max(round(seconds), 1)}
    return gettext("All done in about %(minutes)d min at the queue's recent pace.") % {"minutes": round(seconds / 60)}


# The admin index's *Recent actions* (curation/templatetags/recent_actions.py): LogEntry keeps
# ``object_repr`` in the language it was written in; objects that still exist are named again
# (one query per kind of object among the entries); a deleted one keeps its stored name.
def recent_actions(user, limit: int = 10) -> list[LogEntry]:
    """The user's last ``limit`` entries, each with ``shown_repr``: the object's name now, else the stored one."""
    entries = list(LogEntry.objects.filter(user=user).select_related("content_type").order_by("-action_time")[:limit])
    wanted: defaultdict[ContentType, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.content_type is not None and not entry.is_deletion():
            wanted[cast(ContentType, entry.content_type)].add(entry.object_id)
    named: dict[tuple[int | None, str], str] = {}
    for content_type, ids in wanted.items():
        if content_type.model_class() is None:  # a model since removed
            continue
        try:
            found = list(content_type.get_all_objects_for_this_type(pk__in=list(ids)))
        except (ValidationError, ValueError):  # an id its model no longer reads (a changed key type)
            continue
        named |= {(content_type.pk, str(obj.pk)): str(obj) for obj in found}
    for entry in entries:
        # an attribute the admin index's template reads beside LogEntry's own
        entry.shown_repr = named.get((entry.content_type_id, entry.object_id), entry.object_repr)  # type: ignore[attr-defined]
    return entries
