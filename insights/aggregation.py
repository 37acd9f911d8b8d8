"""One day of raw events → the rollup rows of that day (unsaved), in one pass over each raw table.

Reads only: ``insights.services`` replaces the day's rows with these in one transaction. What is
read, and nothing else: the visitor's derived labels (apparent expression, age group, gender)
and first/last seen; Interaction's event type, item key and image, impression list,
recommendation and time; Recommendation's ranker, search key and fallback; GenerationJob's backend, model,
emotion, status, counts, times and timings; and earlier rollups (how often an image had been
shown before the day). Visitor ids are opaque strings used only to count distinct visitors
within a bucket; they are never stored. Events of ids without a Visitor row (ids that never
came through /emotion) count with unknown labels.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import orjson
from django.conf import settings
from django.db.models import Count, Q, Sum, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from garden import keys as garden_keys
from garden.models import Image, Visitor
from generation.models import GenerationJob
from insights.models import (
    FeedbackRollup,
    GardenRollup,
    Granularity,
    ImageRollup,
    ImageTotal,
    JobRollup,
    RecommenderRollup,
    VisitorRollup,
)
from recommend.models import Fallback, Interaction, Recommendation

CLICK, IMPRESSION, DISLIKE = Interaction.Event.CLICK, Interaction.Event.IMPRESSION, Interaction.Event.DISLIKE
LOOKUP_CHUNK = 2000
UNKNOWN_LABELS = ("", "", "")
# Timings a worker records per job (generation.worker.runner); "load" is per job, not per image.
WORK_TIMINGS = ("generate", "store", "thumbnails")


@dataclass
class DayRollups:
    visitors: list[VisitorRollup] = field(default_factory=list)  # hour and day rows
    feedback: list[FeedbackRollup] = field(default_factory=list)
    images: list[ImageRollup] = field(default_factory=list)
    recommender: list[RecommenderRollup] = field(default_factory=list)
    gardens: list[GardenRollup] = field(default_factory=list)
    jobs: list[JobRollup] = field(default_factory=list)


class Event(NamedTuple):
    visitor: str
    event_type: str
    created_at: datetime
    item_key: str
    image_id: int | None
    shown: list[str]  # keys on screen (a like's screen includes the liked key); none for a dislike
    recommendation_id: int | None


class _Hours:
    """The local hours (TIME_ZONE) of one day, so an hour never straddles a local day's boundary
    (half-hour zones, daylight saving); a moment's hour is found by bisection, not converted per row."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.starts: list[datetime] = []
        moment = start
        while moment < end:
            self.starts.append(moment)
            moment = timezone.localtime(moment.astimezone(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        self._stamps = [moment.timestamp() for moment in self.starts]

    def of(self, moment: datetime) -> datetime:
        return self.starts[max(bisect_right(self._stamps, moment.timestamp()) - 1, 0)]


def _json_list(text: str | None) -> list:
    try:
        value = orjson.loads(text) if text else []
    except orjson.JSONDecodeError:
        return []
    return value if isinstance(value, list) else []


def chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    """``values`` in slices of at most ``size``: IN lists every database takes (insights.services too)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _shown(event_type: str, item_key: str, impression: list) -> list[str]:
    """Keys on screen for an event (a like's row lists its screen; the liked key counts as shown)."""
    if event_type == DISLIKE:
        return []
    shown = [key for key in impression if isinstance(key, str)]
    if event_type == CLICK and item_key and item_key not in shown:
        shown.append(item_key)
    return shown


def _events(*, start: datetime, end: datetime) -> list[Event]:
    rows = (
        Interaction.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        # The JSON list as text, parsed by orjson: several times faster than the ORM's json.loads.
        .annotate(shown_json=Cast("impression", TextField()))
        .values_list("visitor_id", "event_type", "created_at", "item_key", "image_id", "shown_json", "recommendation_id")
    )
    return [
        Event(visitor, kind, created_at, item_key, image_id, _shown(kind, item_key, _json_list(shown_json)), recommendation_id)
        for visitor, kind, created_at, item_key, image_id, shown_json, recommendation_id in rows.iterator(chunk_size=5000)
    ]


def _image_lookup(keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(sorted(key for key in keys if garden_keys.parsed_or_none(key) is not None)):
        found.update(Image.objects.with_keys(chunk).values_list("key", "id"))
    return found


def compute_day(*, start: datetime, end: datetime) -> DayRollups:
    """Every rollup row of the day [start, end): hourly and daily visitors, per-key, per-image,
    per-ranker feedback and generation, from the raw rows of that day only."""
    events = _events(start=start, end=end)
    image_ids = _image_lookup({key for event in events for key in event.shown} | {event.item_key for event in events if event.item_key})
    result = DayRollups()
    result.visitors = _visitors(events, start=start, end=end)
    result.feedback, result.images = _feedback(events, image_ids, day=start)
    result.recommender = _recommender(events, image_ids, start=start, end=end)
    result.gardens = _gardens(start=start, end=end)
    result.jobs = _jobs(start=start, end=end)
    return result


# --- Visitors -------------------------------------------------------------------------------------


def _labels(visitor_ids: set) -> dict[str, tuple[str, str, str]]:
    """Derived labels of the visitors with a row (ids that came through /emotion)."""
    labels: dict[str, tuple[str, str, str]] = {}
    for chunk in chunks(sorted(visitor_ids)):
        for visitor, emotion, age_group, gender in Visitor.objects.filter(pk__in=chunk).values_list("id", "emotion", "age_group", "gender"):
            labels[visitor] = (emotion or "", age_group or "", gender or "")
    return labels


def _visitors(events: list[Event], *, start: datetime, end: datetime) -> list[VisitorRollup]:
    active: dict[datetime, set] = defaultdict(set)  # hour → visitor ids
    liked: dict[datetime, set] = defaultdict(set)
    hours = _Hours(start, end)
    for event in events:
        hour = hours.of(event.created_at)
        active[hour].add(event.visitor)
        if event.event_type == CLICK:
            liked[hour].add(event.visitor)
    labels = _labels({event.visitor for event in events})
    # An /emotion reading without any kiosk event still makes a visit (first and last seen).
    seen = Visitor.objects.filter(Q(first_seen__gte=start, first_seen__lt=end) | Q(last_seen__gte=start, last_seen__lt=end))
    for visitor, emotion, age_group, gender, first_seen, last_seen in seen.values_list(
        "id", "emotion", "age_group", "gender", "first_seen", "last_seen"
    ):
        labels[visitor] = (emotion or "", age_group or "", gender or "")
        for moment in (first_seen, last_seen):
            if start <= moment < end:
                active[hours.of(moment)].add(visitor)

    def rollups(granularity: str, bucket: datetime, visitors: set, likers: set) -> list[VisitorRollup]:
        counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        for visitor in visitors:
            entry = counts[labels.get(visitor, UNKNOWN_LABELS)]
            entry[0] += 1
            entry[1] += visitor in likers
        return [
            VisitorRollup(granularity=granularity, bucket=bucket, emotion=e, age_group=g, gender=s, visitors=n_visitors, likers=n_likers)
            for (e, g, s), (n_visitors, n_likers) in counts.items()
        ]

    out: list[VisitorRollup] = []
    for hour, visitors in active.items():
        out += rollups(Granularity.HOUR, hour, visitors, liked.get(hour, set()))
    day_visitors = set().union(*active.values()) if active else set()
    day_likers = set().union(*liked.values()) if liked else set()
    out += rollups(Granularity.DAY, start, day_visitors, day_likers)
    return out


# --- Feedback per search key and per image --------------------------------------------------------


def _feedback(events: list[Event], image_ids: dict[str, int], *, day: datetime) -> tuple[list[FeedbackRollup], list[ImageRollup]]:
    per_key: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # impressions, likes, dislikes
    per_image: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events:
        for key in event.shown:
            search_key = garden_keys.search_key_of(key)
            if search_key is not None:
                per_key[search_key][0] += 1
            if key in image_ids:
                per_image[image_ids[key]][0] += 1
        if event.event_type not in (CLICK, DISLIKE) or not event.item_key:
            continue
        column = 1 if event.event_type == CLICK else 2
        search_key = garden_keys.search_key_of(event.item_key)
        if search_key is not None:
            per_key[search_key][column] += 1
        image = event.image_id or image_ids.get(event.item_key)
        if image:
            per_image[image][column] += 1
    feedback = [
        FeedbackRollup(bucket=day, search_key=key, emotion=key.partition("/")[0], impressions=n, likes=likes, dislikes=dislikes)
        for key, (n, likes, dislikes) in per_key.items()
    ]
    images = [
        ImageRollup(bucket=day, image_id=image, impressions=n, likes=likes, dislikes=dislikes)
        for image, (n, likes, dislikes) in per_image.items()
    ]
    return feedback, images


# --- The recommender in production ----------------------------------------------------------------


def fresh_images(image_ids: set[int], *, day: datetime) -> set[int]:
    """Images shown fewer than RECOMMEND_FRESH_IMPRESSIONS times before ``day``: the ones a ranker
    is still exploring (Thompson sampling's wide draws, or the fixed exploration slot). Read from
    the kept rollups, so it survives retention: totals minus the rows of ``day`` and later."""
    threshold = settings.RECOMMEND_FRESH_IMPRESSIONS
    fresh: set[int] = set()
    for chunk in chunks(sorted(image_ids)):
        before = dict(ImageTotal.objects.filter(image_id__in=chunk).values_list("image_id", "impressions"))
        since = ImageRollup.objects.filter(bucket__gte=day, image_id__in=chunk).order_by().values("image_id").annotate(n=Sum("impressions"))
        for row in since:
            before[row["image_id"]] = before.get(row["image_id"], 0) - row["n"]
        fresh.update(image for image in chunk if before.get(image, 0) < threshold)
    return fresh


def _recommender(events: list[Event], image_ids: dict[str, int], *, start: datetime, end: datetime) -> list[RecommenderRollup]:
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    served = (
        Recommendation.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values_list("ranker", "search_key")
        .annotate(n=Count("id"))
    )
    for ranker, search_key, n in served:
        counts[(ranker, search_key.partition("/")[0])]["gardens"] += n
    attributed = [event for event in events if event.recommendation_id]
    recommendations: dict[int, tuple[str, str]] = {}
    for chunk in chunks(sorted({event.recommendation_id for event in attributed})):
        for pk, ranker, search_key in Recommendation.objects.filter(pk__in=chunk).values_list("pk", "ranker", "search_key"):
            recommendations[pk] = (ranker, search_key.partition("/")[0])
    fresh = fresh_images({image_ids[key] for event in attributed for key in event.shown if key in image_ids}, day=start)
    liked: dict[tuple[str, str], set[int]] = defaultdict(set)
    for event in attributed:
        if event.recommendation_id not in recommendations:
            continue  # its Recommendation row is gone (retention)
        group = recommendations[event.recommendation_id]
        entry = counts[group]
        for key in event.shown:
            entry["impressions"] += 1
            entry["explore_impressions"] += image_ids.get(key) in fresh
        if event.event_type == CLICK:
            entry["likes"] += 1
            entry["explore_likes"] += (event.image_id or image_ids.get(event.item_key)) in fresh
            liked[group].add(event.recommendation_id)
    return [
        RecommenderRollup(bucket=start, ranker=ranker, emotion=emotion, gardens_liked=len(liked.get((ranker, emotion), ())), **values)
        for (ranker, emotion), values in counts.items()
    ]


def _gardens(*, start: datetime, end: datetime) -> list[GardenRollup]:
    """/garden answers per search key, with how many were empty or fell back (one GROUP BY)."""
    rows: dict[str, GardenRollup] = {}
    served = (
        Recommendation.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values_list("search_key", "fallback")
        .annotate(n=Count("id"))
    )
    for search_key, fallback, n in served:
        row = rows.setdefault(search_key, GardenRollup(bucket=start, search_key=search_key, emotion=search_key.partition("/")[0]))
        row.gardens += n
        row.fallback += n if fallback == Fallback.OTHER_FAVORITES else 0
        row.empty += n if fallback == Fallback.EMPTY else 0
    return list(rows.values())


# --- Generation -----------------------------------------------------------------------------------


def _jobs(*, start: datetime, end: datetime) -> list[JobRollup]:
    rows: dict[tuple[str, str, str], JobRollup] = {}
    finished = GenerationJob.objects.filter(finished_at__gte=start, finished_at__lt=end).values_list(
        "backend", "model_id", "emotion", "status", "images_done", "created_at", "started_at", "timings"
    )
    for backend, model_id, emotion, status, images, created_at, started_at, timings in finished:
        row = rows.setdefault((backend, model_id, emotion), JobRollup(bucket=start, backend=backend, model_id=model_id, emotion=emotion))
        row.jobs += 1
        row.succeeded += status == GenerationJob.Status.SUCCEEDED
        row.failed += status == GenerationJob.Status.FAILED
        row.cancelled += status == GenerationJob.Status.CANCELLED
        row.images += images
        if started_at is not None and started_at >= created_at:
            row.queue_wait_seconds += (started_at - created_at) / timedelta(seconds=1)
            row.waited_jobs += 1
        work = sum(float(value) for name, value in (timings or {}).items() if name in WORK_TIMINGS and isinstance(value, int | float))
        if images and work > 0:
            row.work_seconds += work
            row.timed_images += images
    return list(rows.values())
