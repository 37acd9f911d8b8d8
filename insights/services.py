"""Insights state changes: refreshing the rollups (Celery beat, ``manage.py refresh_insights``) and
the Analysts group.

A refresh recomputes whole days, from the start of the day where the rollups stopped being
complete (or ``INSIGHTS_RECOMPUTE_HOURS`` ago, whichever is earlier) up to now; each day is
replaced in its own transaction, so running it twice gives the same rows. Days before that are
never touched: once computed they stay, even after a retention policy deletes the raw events
they came from. It reads the raw tables only, after the fact: nothing on the kiosk's request
path writes here.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from config import groups, locks
from garden.models import Image, Visitor
from generation.models import GenerationJob
from insights import aggregation
from insights.charts import wilson
from insights.models import (
    FeedbackRollup,
    GardenRollup,
    Granularity,
    ImageRollup,
    ImageTotal,
    JobRollup,
    RecommenderRollup,
    RollupState,
    VisitorRollup,
)
from recommend.models import Interaction, Recommendation

log = logging.getLogger(__name__)

LOCK_KEY = "insights:refresh-lock"
ADVISORY_LOCK_ID = 0x696E7369  # "insi": one refresh at a time across processes
BATCH = 2000


class RefreshBusy(RuntimeError):
    """Another refresh is running."""


@dataclass(frozen=True)
class RefreshResult:
    window_start: datetime
    computed_until: datetime
    days: int
    seconds: float


def day_start(moment: datetime) -> datetime:
    """Local midnight (TIME_ZONE) of the day containing ``moment``."""
    return timezone.make_aware(datetime.combine(timezone.localtime(moment).date(), datetime.min.time()))


def next_day(day: datetime) -> datetime:
    return day_start(day + timedelta(hours=26))  # past any daylight-saving change


def refresh_lock():
    """One refresh at a time across processes (RefreshBusy at once if another one runs)."""
    return locks.exclusive(
        advisory_id=ADVISORY_LOCK_ID,
        cache_key=LOCK_KEY,
        timeout=60 * 60,
        busy=RefreshBusy,
        message="another insights refresh holds the lock",
    )


def earliest_event() -> datetime | None:
    """The oldest raw row any rollup counts (where a first refresh starts)."""
    candidates = [
        Interaction.objects.aggregate(at=Min("created_at"))["at"],
        Recommendation.objects.aggregate(at=Min("created_at"))["at"],
        Visitor.objects.aggregate(at=Min("first_seen"))["at"],
        GenerationJob.objects.aggregate(at=Min("finished_at"))["at"],
    ]
    found = [moment for moment in candidates if moment is not None]
    return min(found) if found else None


def refresh_rollups(*, now: datetime | None = None, since: datetime | None = None) -> RefreshResult:
    """Recompute the recent days (or every day from ``since``) up to ``now``. Raises RefreshBusy."""
    now = now or timezone.now()
    started = time.perf_counter()
    with refresh_lock():
        state, _ = RollupState.objects.get_or_create(pk=1)
        if since is None:
            recent = now - timedelta(hours=settings.INSIGHTS_RECOMPUTE_HOURS)
            since = (earliest_event() or now) if state.computed_until is None else min(state.computed_until, recent)
        window_start = day = day_start(min(since, now))
        days = 0
        while day <= now:
            end = next_day(day)
            rollups = aggregation.compute_day(start=day, end=end)
            with transaction.atomic():
                _replace_day(day=day, end=end, rollups=rollups)
                computed_until = max(min(end, now), state.computed_until or min(end, now))
                RollupState.objects.filter(pk=1).update(computed_until=computed_until)
                state.computed_until = computed_until
            day, days = end, days + 1
        seconds = round(time.perf_counter() - started, 3)
        RollupState.objects.filter(pk=1).update(last_started_at=now, last_seconds=seconds, last_window_start=window_start)
    log.info("insights: %d day(s) from %s recomputed in %.1f s", days, window_start, seconds)
    return RefreshResult(window_start=window_start, computed_until=state.computed_until or now, days=days, seconds=seconds)


def _replace_day(*, day: datetime, end: datetime, rollups: aggregation.DayRollups) -> None:
    """Swap one day's rows for freshly computed ones (hour rows of that day included)."""
    VisitorRollup.objects.filter(
        Q(granularity=Granularity.DAY, bucket=day) | Q(granularity=Granularity.HOUR, bucket__gte=day, bucket__lt=end)
    ).delete()
    VisitorRollup.objects.bulk_create(rollups.visitors, batch_size=BATCH)
    FeedbackRollup.objects.filter(bucket=day).delete()
    FeedbackRollup.objects.bulk_create(rollups.feedback, batch_size=BATCH)
    RecommenderRollup.objects.filter(bucket=day).delete()
    RecommenderRollup.objects.bulk_create(rollups.recommender, batch_size=BATCH)
    GardenRollup.objects.filter(bucket=day).delete()
    GardenRollup.objects.bulk_create(rollups.gardens, batch_size=BATCH)
    JobRollup.objects.filter(bucket=day).delete()
    JobRollup.objects.bulk_create(rollups.jobs, batch_size=BATCH)
    old = ImageRollup.objects.filter(bucket=day)
    delta: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for image_id, impressions, likes, dislikes in old.values_list("image_id", "impressions", "likes", "dislikes"):
        entry = delta[image_id]
        entry[0], entry[1], entry[2] = entry[0] - impressions, entry[1] - likes, entry[2] - dislikes
    old.delete()
    ImageRollup.objects.bulk_create(rollups.images, batch_size=BATCH)
    for row in rollups.images:
        entry = delta[row.image_id]
        entry[0], entry[1], entry[2] = entry[0] + row.impressions, entry[1] + row.likes, entry[2] + row.dislikes
    _apply_to_totals({image_id: values for image_id, values in delta.items() if any(values)})


def _total(image_id: int, emotion: str, impressions: int, likes: int, dislikes: int) -> ImageTotal:
    impressions, likes, dislikes = max(impressions, 0), max(likes, 0), max(dislikes, 0)
    low, high = wilson(likes, impressions)
    rate = min(likes, impressions) / impressions if impressions else 0.0
    return ImageTotal(
        image_id=image_id,
        emotion=emotion,
        impressions=impressions,
        likes=likes,
        dislikes=dislikes,
        like_rate=rate,
        like_low=low,
        like_high=high,
    )


def _upsert_totals(totals: list[ImageTotal]) -> None:
    ImageTotal.objects.bulk_create(
        totals,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["image"],
        update_fields=["emotion", "impressions", "likes", "dislikes", "like_rate", "like_low", "like_high"],
    )


def _apply_to_totals(delta: dict[int, list[int]]) -> None:
    """Add one day's change to each image's totals (same transaction as the day: always exact)."""
    for chunk in aggregation.chunks(sorted(delta)):
        emotions = dict(Image.objects.with_ids(chunk).values_list("pk", "emotion"))
        current = {
            t.image_id: (t.impressions, t.likes, t.dislikes)
            for t in ImageTotal.objects.filter(image_id__in=chunk).only("image", "impressions", "likes", "dislikes")
        }
        totals = []
        for image_id in chunk:
            if image_id not in emotions:
                continue  # purged: its daily rows stay, the prune list has nothing to show for it
            before = current.get(image_id, (0, 0, 0))
            change = delta[image_id]
            totals.append(_total(image_id, emotions[image_id], *(a + b for a, b in zip(before, change, strict=True))))
        _upsert_totals(totals)


def rebuild_totals() -> int:
    """Recompute every image's totals from the kept daily rows (a repair; refreshes keep them exact)."""
    with refresh_lock(), transaction.atomic():
        ImageTotal.objects.all().delete()
        sums = ImageRollup.objects.order_by().values("image_id").annotate(n=Sum("impressions"), l=Sum("likes"), d=Sum("dislikes"))
        by_image = {row["image_id"]: (row["n"], row["l"], row["d"]) for row in sums}
        made = 0
        for chunk in aggregation.chunks(sorted(by_image)):
            emotions = dict(Image.objects.with_ids(chunk).values_list("pk", "emotion"))
            totals = [_total(pk, emotions[pk], *by_image[pk]) for pk in chunk if pk in emotions]
            _upsert_totals(totals)
            made += len(totals)
    return made


# --- The Analysts group ---------------------------------------------------------------------------

ANALYSTS_GROUP = "Analysts"
# Exactly what an analyst needs: the dashboard, and the image pages its prune list links to.
# No visitor rows (personal), no changes to images or jobs.
ANALYST_PERMISSIONS = ("insights.view_dashboard", "garden.view_image")


def ensure_analysts_group() -> tuple[Group, list[str]]:
    """Create or reset the Analysts group to exactly the analyst rights; returns (group, missing)."""
    group, _created, missing = groups.reset_group(ANALYSTS_GROUP, ANALYST_PERMISSIONS)
    return group, missing


def make_analyst(*, user) -> None:
    """Staff (so the admin lets them log in) and a member of Analysts; no superuser rights."""
    group, _missing = ensure_analysts_group()
    groups.join_as_staff(user=user, group=group)
