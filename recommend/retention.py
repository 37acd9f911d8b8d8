"""Privacy: how long visitor data is kept, and deleting one visitor's data on request.

- Visitors' derived labels (age range, generation, gender, last expression, features) are deleted
  GARDEN_RETAIN_VISITOR_DAYS after the visitor was last seen at /emotion.
- Raw events (likes, impressions, dislikes) are deleted GARDEN_RETAIN_EVENT_DAYS after they happened.
- Recommendation rows (what /garden served) are deleted GARDEN_RETAIN_RECOMMENDATION_DAYS after.

0 keeps that kind of data forever. The counters and the trained model keep their aggregates:
before events are deleted their counts move to the retired counters, which every rebuild adds to
its recount of the events that remain (recommend.training). Events carry the segment they were
counted under, so deleting a visitor's labels changes no count. Runs daily under celery beat
(``recommend.tasks.apply_retention``) and as ``manage.py apply_retention``; one visitor's data
goes with ``manage.py forget_visitor <id>``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from garden.models import Visitor
from garden.visitors import normalize_code, visitor_code
from recommend import ranking, training
from recommend.models import Interaction, Recommendation, RetiredFavoriteStat, RetiredImageStat

log = logging.getLogger(__name__)
DELETE_BATCH = 5000


@dataclass
class Deleted:
    visitors: int = 0
    events: int = 0
    recommendations: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def apply_retention(*, now=None) -> Deleted:
    """Delete what is older than its retention period; returns how many rows of each went."""
    now = now or timezone.now()
    deleted = Deleted()
    with training.rebuild_lock():  # no rebuild recounts while events move into the retired counters
        if days := settings.GARDEN_RETAIN_EVENT_DAYS:
            deleted.events = retire_events(where="WHERE created_at < %s", params=[_cutoff(now, days)])
        if days := settings.GARDEN_RETAIN_RECOMMENDATION_DAYS:
            deleted.recommendations = _delete_in_batches(Recommendation.objects.filter(created_at__lt=now - timedelta(days=days)))
        if days := settings.GARDEN_RETAIN_VISITOR_DAYS:
            deleted.visitors = _delete_in_batches(Visitor.objects.filter(last_seen__lt=now - timedelta(days=days)))
    log.info("retention applied: %s", deleted.as_dict())
    return deleted


def forget_visitor(*, visitor_id: str) -> Deleted:
    """A deletion request: the visitor's labels, events and served gardens, now. Aggregates stay."""
    deleted = Deleted()
    with training.rebuild_lock():
        deleted.events = retire_events(where="WHERE visitor_id = %s", params=[visitor_id])
        with transaction.atomic():
            deleted.recommendations = _delete_in_batches(Recommendation.objects.filter(visitor_id=visitor_id))
            deleted.visitors = _delete_in_batches(Visitor.objects.filter(pk=visitor_id))
    log.info("visitor data deleted on request: %s", deleted.as_dict())
    return deleted


def visitor_ids_with_code(code: str) -> list[str]:
    """Every visitor id kept anywhere (labels, events, served gardens) whose code is ``code``.

    Codes are one-way (``garden.visitors.visitor_code``), so this computes the code of each id:
    one pass over the distinct ids, for a request that comes rarely. Usually one id; two only if
    their codes collide.
    """
    code = normalize_code(code)
    ids: set[str] = set(Visitor.objects.values_list("pk", flat=True))
    ids.update(Interaction.objects.values_list("visitor_id", flat=True).distinct().order_by())
    ids.update(Recommendation.objects.exclude(visitor_id=None).values_list("visitor_id", flat=True).distinct().order_by())
    return sorted(visitor_id for visitor_id in ids if visitor_code(visitor_id) == code)


def kept_about(*, visitor_ids: list[str]) -> Deleted:
    """How many rows a deletion of these visitors would remove (the admin's confirmation page)."""
    return Deleted(
        visitors=Visitor.objects.filter(pk__in=visitor_ids).count(),
        events=Interaction.objects.filter(visitor_id__in=visitor_ids).count(),
        recommendations=Recommendation.objects.filter(visitor_id__in=visitor_ids).count(),
    )


def retire_events(*, where: str, params: list) -> int:
    """Move the counts of the events matching ``where`` into the retired counters, then delete them."""
    catalog = training.load_catalog()
    ids, rows = training.read_events(catalog, where=where, params=params)
    if not ids:
        return 0
    table = ranking.count_feedback(
        training.to_events(rows),
        n_images=len(catalog.image_ids),
        image_key=catalog.image_key,
        n_keys=max(len(catalog.search_keys), 1),
        visitor_segment=catalog.visitor_segment,
        segments=catalog.segments,
    )
    image_rows, favorite_rows = training.stat_rows(table, catalog)
    with transaction.atomic(), connection.cursor() as cursor:
        _add(
            RetiredImageStat,
            ("image_id", "segment"),
            ("segment", "image_id", "impressions", "likes", "dislikes"),
            image_rows,
        )
        _add(RetiredFavoriteStat, ("segment", "search_key"), ("segment", "search_key", "impressions", "likes"), favorite_rows)
        # Events read_events skipped (their image is gone) go too: nothing could count them.
        cursor.execute(f"DELETE FROM {Interaction._meta.db_table} {where}", params)
        return max(cursor.rowcount, len(ids))


def _add(model, conflict: tuple[str, ...], columns: tuple[str, ...], rows: list[tuple]) -> None:
    table = model._meta.db_table
    increments = [column for column in columns if column not in conflict]
    updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in increments)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _delete_in_batches(queryset) -> int:
    total = 0
    while ids := list(queryset.values_list("pk", flat=True)[:DELETE_BATCH]):
        total += queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)
    return total


def _cutoff(now, days: int):
    return connection.ops.adapt_datetimefield_value(now - timedelta(days=days))
