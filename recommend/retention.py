"""Privacy: how long visitor data is kept, and deleting one visitor's data on request.

- Visitors' derived labels (age range, age group, gender, last expression, features) are deleted
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

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from garden import forgetting, visitor_services
from garden.models import Image, Visitor
from garden.visitors import normalize_code, visitor_code
from infra import idempotency
from recommend import counting, training
from recommend.models import Interaction, Recommendation, RetiredFavoriteStat, RetiredImageStat

log = logging.getLogger(__name__)
DELETE_BATCH = 5000


@dataclass
class Deleted:
    visitors: int = 0
    events: int = 0
    recommendations: int = 0
    job_links: int = 0  # visitor links of other apps' rows (the live picture's requests: garden.forgetting)
    retry_keys: int = 0  # the kiosk's idempotency keys scoped to the visitor (retention: swept hourly when expired)

    def as_dict(self) -> dict:
        return asdict(self)


def apply_retention(*, now=None) -> Deleted:
    """Delete what is older than its retention period; returns how many rows of each went."""
    now = now or timezone.now()
    deleted = Deleted()
    with training.rebuild_lock():  # no rebuild recounts while events move into the retired counters
        if days := settings.GARDEN_RETAIN_EVENT_DAYS:
            catalog = training.load_catalog()
            deleted.events = retire_events(where="WHERE created_at < %s", params=[_cutoff(now, days)], catalog=catalog)
        if days := settings.GARDEN_RETAIN_RECOMMENDATION_DAYS:
            deleted.recommendations = _delete_in_batches(Recommendation.objects.filter(created_at__lt=now - timedelta(days=days)))
        if days := settings.GARDEN_RETAIN_VISITOR_DAYS:
            deleted.visitors = visitor_services.delete_visitors(
                Visitor.objects.filter(last_seen__lt=now - timedelta(days=days)), batch=DELETE_BATCH
            )
        deleted.job_links = forgetting.forget(visitor_id=None)
    log.info("retention applied: %s", deleted.as_dict())
    return deleted


def forget_visitor(*, visitor_id: str) -> Deleted:
    """A deletion request: the visitor's labels, events and served gardens, and other apps' links to
    the visitor id (garden.forgetting), now. Aggregates stay."""
    deleted = Deleted()
    with training.rebuild_lock():
        deleted.events = retire_events(where="WHERE visitor_id = %s", params=[visitor_id])
        with transaction.atomic():
            deleted.recommendations = _delete_in_batches(Recommendation.objects.filter(visitor_id=visitor_id))
            deleted.visitors = visitor_services.delete_visitors(Visitor.objects.filter(pk=visitor_id), batch=DELETE_BATCH)
            deleted.job_links = forgetting.forget(visitor_id=visitor_id)
            deleted.retry_keys = idempotency.forget_visitor_keys(visitor_id=visitor_id)
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


def retire_events(*, where: str, params: list, catalog: training.Catalog | None = None) -> int:
    """Move the counts of the events matching ``where`` into the retired counters, then delete them.

    Counted against ``catalog`` (a sweep passes the whole one), or against only the images the
    events name: one visitor's deletion reads their rows, not the garden's.
    """
    catalog = catalog or training.load_catalog(_named_images(where, params))
    counts = counting.Counts.empty(len(catalog.image_ids), max(len(catalog.search_keys), 1))
    seen = counting.stream(counts, catalog.key_index, catalog.image_key, where=where, params=params)
    if not seen.last_id:
        return 0
    counting.correct_all(counts, catalog.key_index, catalog.image_key, where=where, params=params)
    image_rows, favorite_rows = training.stat_rows(counts.table(), catalog)
    with transaction.atomic(), connection.cursor() as cursor:
        _add(
            RetiredImageStat,
            ("image_id", "segment"),
            ("segment", "image_id", "impressions", "likes", "dislikes"),
            image_rows,
        )
        _add(RetiredFavoriteStat, ("segment", "search_key"), ("segment", "search_key", "impressions", "likes"), favorite_rows)
        # Events the count skipped (their image is gone) go too: nothing could count them.
        cursor.execute(f"DELETE FROM {Interaction._meta.db_table} {where}", params)
        counting.forget()  # the stored counts include these events: the next rebuild recounts
        return max(cursor.rowcount, counts.events)


def _named_images(where: str, params: list) -> list[tuple]:
    """(id, key, search key) of the images the matching events name (liked or on screen), by id."""
    keys: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT item_key, CAST(impression AS TEXT) FROM {Interaction._meta.db_table} {where}", params)
        for item_key, impression in cursor.fetchall():
            keys.add(item_key)
            keys.update(orjson.loads(impression) if impression else ())
    keys.discard("")
    rows: list[tuple] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        rows.extend(Image.objects.with_keys(ordered[start : start + 500]).values_list("id", "key", "search_key"))
    return sorted(rows)


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
