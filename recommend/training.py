"""The periodic full rebuild: counters recomputed from the interactions table, priors fitted,
optional ALS factors, a new ModelVersion published. Called by the Celery beat task and
`manage.py rebuild_recommender`."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from datetime import timedelta

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction

from config import clock, locks
from garden import catalog_changes
from recommend import counting, feedback, lineage, ranking, store, taste_training, tokens
from recommend.catalog import Catalog, catalog_rows, catalog_since, key_resolver, load_catalog, rows_where  # noqa: F401 (re-exported)
from recommend.models import FavoriteStat, ImageStat, Interaction, ModelVersion, RetiredFavoriteStat, RetiredImageStat

log = logging.getLogger(__name__)
LOCK_KEY = "recommend:rebuild-lock"
ADVISORY_LOCK_ID = 0x6761726465  # "garde": any constant shared by every rebuilding process
KEEP_VERSIONS = 5
IMAGE_COLUMNS = ("segment", "image_id", "impressions", "likes", "dislikes")
FAVORITE_COLUMNS = ("segment", "search_key", "impressions", "likes")
KIND = {"click": ranking.CLICK, "impression": ranking.IMPRESSION, "dislike": ranking.DISLIKE}
# Events committed late (long transactions) are picked up by a full recount's locked second pass.
LATE_COMMIT_WINDOW = timedelta(minutes=10)


class RebuildBusy(RuntimeError):
    pass


def rebuild_lock():
    """One rebuild at a time across processes (RebuildBusy at once if another one runs)."""
    return locks.exclusive(
        advisory_id=ADVISORY_LOCK_ID, cache_key=LOCK_KEY, timeout=30 * 60, busy=RebuildBusy, message="another rebuild holds the lock"
    )


def read_events(catalog: Catalog, *, where: str = "", params: list | None = None) -> tuple[list[int], list[tuple]]:
    """(ids, parsed rows) of interactions, read with a raw cursor: the ORM's per-row JSON
    decoding and model machinery would cost more than the whole fit at a million rows."""
    table = Interaction._meta.db_table
    sql = f"SELECT id, visitor_id, segment, event_type, item_key, CAST(impression AS TEXT) FROM {table} {where} ORDER BY id"
    ids, rows = [], []
    keys, visitors = catalog.key_index, catalog.visitor_index
    segment_of_new: list[int] = []  # segment index of each visitor index added below
    loads = orjson.loads  # faster than json on many small arrays (docs/benchmarks.md#figures-behind-the-code)
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        while batch := cursor.fetchmany(20000):
            for event_id, visitor_id, segment, event_type, item_key, impression in batch:
                kind = KIND.get(event_type)
                if kind is None:
                    continue
                visitor = visitors.get((visitor_id, segment))
                if visitor is None:
                    visitor = visitors[(visitor_id, segment)] = len(visitors)
                    if segment and segment not in catalog.segments:
                        catalog.segments.append(segment)
                    segment_of_new.append(catalog.segments.index(segment) if segment else 0)
                item = keys.get(item_key, -1)
                if kind != ranking.IMPRESSION and item < 0:
                    continue
                shown = [keys[k] for k in (loads(impression) if impression else ()) if k in keys]
                if kind == ranking.CLICK and item not in shown:
                    shown.append(item)
                if kind == ranking.DISLIKE:
                    shown = []  # an undo is not a new impression
                ids.append(event_id)
                rows.append((visitor, kind, item, shown))
    if segment_of_new:
        catalog.visitor_segment = np.concatenate([catalog.visitor_segment, np.array(segment_of_new, dtype=np.int64)])
    return ids, rows


def to_events(rows: list[tuple]) -> feedback.Events:
    visitor = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    kind = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    image = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    lengths = np.fromiter((len(r[3]) for r in rows), dtype=np.int64, count=len(rows))
    imp_event = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    imp_image = np.fromiter((i for r in rows for i in r[3]), dtype=np.int64, count=int(lengths.sum()))
    return feedback.Events(visitor=visitor, kind=kind, image=image, imp_event=imp_event, imp_image=imp_image)


def stat_rows(table: feedback.FeedbackTable, catalog: Catalog, *, only: int | None = None):
    """Counter rows (segment, image id, n, likes, dislikes) and (segment, search key, n, likes) of a
    table: of every segment, or of the segment at index ``only``."""
    image_rows, favorite_rows = [], []
    for seg_index, segment in enumerate(table.segments):
        if only is not None and seg_index != only:
            continue
        nz = np.flatnonzero(table.img_n[seg_index] | table.img_l[seg_index] | table.img_d[seg_index])
        ids = catalog.image_ids[nz]
        image_rows.extend(
            zip(
                [segment] * len(nz),
                ids.tolist(),
                table.img_n[seg_index, nz].tolist(),
                table.img_l[seg_index, nz].tolist(),
                table.img_d[seg_index, nz].tolist(),
                strict=True,
            )
        )
        nz = np.flatnonzero(table.key_n[seg_index] | table.key_l[seg_index])
        favorite_rows.extend((segment, catalog.search_keys[k], int(table.key_n[seg_index, k]), int(table.key_l[seg_index, k])) for k in nz)
    return image_rows, favorite_rows


def with_retired(image_rows: list[tuple], favorite_rows: list[tuple], *, retired: tuple | None = None) -> tuple[list[tuple], list[tuple]]:
    """The recounted rows plus the counts of events retention deleted (recommend.retention): all of
    them, or the given (image rows, favorite rows) of them."""
    if retired is None:
        retired = (RetiredImageStat.objects.values_list(*IMAGE_COLUMNS), RetiredFavoriteStat.objects.values_list(*FAVORITE_COLUMNS))
    retired_images, retired_favorites = retired
    images = {(segment, image): [n, likes, dislikes] for segment, image, n, likes, dislikes in image_rows}
    for segment, image, n, likes, dislikes in retired_images:
        total = images.setdefault((segment, image), [0, 0, 0])
        total[0], total[1], total[2] = total[0] + n, total[1] + likes, total[2] + dislikes
    favorites = {(segment, key): [n, likes] for segment, key, n, likes in favorite_rows}
    for segment, key, n, likes in retired_favorites:
        total = favorites.setdefault((segment, key), [0, 0])
        total[0], total[1] = total[0] + n, total[1] + likes
    return (
        [(segment, image, *counts) for (segment, image), counts in images.items()],
        [(segment, key, *counts) for (segment, key), counts in favorites.items()],
    )


def _replace_counters(table: feedback.FeedbackTable, catalog: Catalog) -> int:
    """Every counter row, the table's plus the retired counts, written a segment at a time: all the
    rows at once (millions at 16M events) were most of a full recount's peak memory. Returns the
    image rows written."""
    ImageStat.objects.all().delete()
    FavoriteStat.objects.all().delete()
    retired_images = {(s, i): (n, likes, d) for s, i, n, likes, d in RetiredImageStat.objects.values_list(*IMAGE_COLUMNS).iterator()}
    retired_favorites = {(s, k): (n, likes) for s, k, n, likes in RetiredFavoriteStat.objects.values_list(*FAVORITE_COLUMNS)}
    written = 0
    for seg_index in range(len(table.segments)):
        image_rows, favorite_rows = stat_rows(table, catalog, only=seg_index)
        # This segment's retired counts, taken out of the rest (as with_retired adds them).
        mine = [(s, i, *retired_images.pop((s, i))) for s, i, *_ in image_rows if (s, i) in retired_images]
        mine_favorites = [(s, k, *retired_favorites.pop((s, k))) for s, k, *_ in favorite_rows if (s, k) in retired_favorites]
        image_rows, favorite_rows = with_retired(image_rows, favorite_rows, retired=(mine, mine_favorites))
        _insert_counters(image_rows, favorite_rows)
        written += len(image_rows)
    # Retired counts of images or keys with no event left.
    _insert_counters([(s, i, *c) for (s, i), c in retired_images.items()], [(s, k, *c) for (s, k), c in retired_favorites.items()])
    return written + len(retired_images)


def _insert_counters(image_rows, favorite_rows) -> None:
    if connection.vendor == "postgresql":
        # COPY: a million counter rows in a couple of seconds instead of a minute of INSERTs.
        raw = connection.cursor().cursor
        for model, columns, rows in (
            (ImageStat, "segment, image_id, impressions, likes, dislikes", image_rows),
            (FavoriteStat, "segment, search_key, impressions, likes", favorite_rows),
        ):
            with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
                for start in range(0, len(rows), 50000):
                    copy.write(_copy_text(rows[start : start + 50000]))
        return
    ImageStat.objects.bulk_create(
        (ImageStat(segment=s, image_id=i, impressions=n, likes=likes, dislikes=d) for s, i, n, likes, d in image_rows), batch_size=2000
    )
    FavoriteStat.objects.bulk_create(
        (FavoriteStat(segment=s, search_key=k, impressions=n, likes=likes) for s, k, n, likes in favorite_rows), batch_size=2000
    )


def _copy_text(rows: list[tuple]) -> bytes:
    """Counter rows in COPY's text format, formatted here: psycopg's write_row cost more (docs/benchmarks.md).
    Their strings (segments, search keys) are escaped; the rest are integers."""
    escaped = functools.cache(lambda text: text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"))
    if rows and len(rows[0]) == 5:  # image rows: segment, image id, impressions, likes, dislikes
        lines = [f"{escaped(s)}\t{i}\t{n}\t{likes}\t{d}\n" for s, i, n, likes, d in rows]
    else:  # favorite rows: segment, search key, impressions, likes
        lines = [f"{escaped(s)}\t{escaped(k)}\t{n}\t{likes}\n" for s, k, n, likes in rows]
    return "".join(lines).encode()


def rebuild(*, with_als: bool | None = None, full: bool = False) -> ModelVersion:
    """Bring the counters up to date and publish a new model version: the events since the last
    rebuild added to the stored counts, or every event recounted (``full``; when nothing is stored,
    events were deleted, the catalog changed, or RECOMMEND_FULL_RECOUNT_HOURS passed). The first
    reads only the new events and the images they name; the second, everything."""
    started = time.perf_counter()
    with_als = settings.RECOMMEND_ALS_ENABLED if with_als is None else with_als
    with rebuild_lock():
        now = clock.now()
        catalog_changes.require()  # else catalog changes may have gone unrecorded
        catalog_version = catalog_changes.version()  # read before the catalog: a change after it shows next time
        stored = counting.load(catalog_version) if not full else None
        if stored is not None and (
            stored[1].recounted_at < now - timedelta(hours=settings.RECOMMEND_FULL_RECOUNT_HOURS)
            or not catalog_changes.counted_images_unchanged(
                last_id=int(stored[2].image_ids[-1]) if stored[1].images else 0, count=stored[1].images
            )
        ):
            stored = None
        if stored is None:
            catalog = load_catalog()
            counts, recounted_at = counting.Counts.empty(len(catalog.image_ids), max(len(catalog.search_keys), 1)), now
            first = counting.stream(
                counts, catalog.key_index, catalog.image_key, where="", params=[], recent_since=now - LATE_COMMIT_WINDOW
            )
        else:
            counts, recounted_at, catalog = stored[0], stored[1].recounted_at, catalog_since(stored[2])
            counts.widen(len(catalog.image_ids), max(len(catalog.search_keys), 1))
        before, counted_before = counts.through, counts.events
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Live events bump counters after inserting their row; holding this lock, every
                # event is either committed (and read below) or waits and lands on the new counts.
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {ImageStat._meta.db_table}, {FavoriteStat._meta.db_table} IN EXCLUSIVE MODE")
            if stored is None:
                # Events committed late (long transactions) are picked up here, by their time.
                counting.stream(
                    counts,
                    catalog.key_index,
                    catalog.image_key,
                    where="WHERE id > %s OR created_at >= %s",
                    params=[first.last_id, now - LATE_COMMIT_WINDOW],
                    skip=first.recent_ids,
                )
                counting.correct_all(counts, catalog.key_index, catalog.image_key)
                written = _replace_counters(counts.table(), catalog)
            else:
                new = counting.stream(
                    counts,
                    catalog.key_index,
                    catalog.image_key,
                    where="WHERE id > %s",
                    params=[before],
                    track_pairs=True,
                    resolve=key_resolver(catalog),
                )
                new.images |= counting.correct_pairs(counts, catalog.key_index, catalog.image_key, new.pairs, before=before)
                written = len(_replace_touched(counts, catalog, sorted(new.images))[0])
            counted_catalog = counting.CountedCatalog(catalog.image_ids, catalog.image_key, catalog.search_keys)
            counting.save(counts, catalog=counted_catalog, catalog_version=catalog_version, recounted_at=recounted_at)
            transaction.on_commit(tokens.renew_all)  # the new counters are visible: no stored copy may outlive them
        table = counts.table()
        params, fitted = fit_model(table, catalog)
        bred = fit_lineage(table, catalog, fitted)
        artefact = _als(load_catalog() if stored is not None else catalog) if with_als else b""  # ALS reads every event
        version = ModelVersion.objects.create(
            ranker="counting+als" if artefact else "counting",
            params=params.as_dict(),
            artefact=artefact,
            taste=fitted.taste.dumps() if fitted else b"",
            lineage=bred.dumps() if bred else b"",
            metrics={
                "interactions": counts.events,
                "new_interactions": counts.events - counted_before if stored is not None else counts.events,
                "full_recount": stored is None,
                "images": len(catalog.image_ids),
                "image_stats_written": written,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        stale = list(ModelVersion.objects.order_by("-id").values_list("id", flat=True)[KEEP_VERSIONS:])
        ModelVersion.objects.filter(id__in=stale).delete()
    log.info("recommender rebuilt: %s", version.metrics)
    return version


def fit_model(table: feedback.FeedbackTable, catalog: Catalog) -> tuple[ranking.Params, taste_training.FittedTaste | None]:
    """The priors and the taste model fitted on the counts ``table`` over ``catalog``. With a taste
    model, a picture's rate within a segment is shrunk toward its prediction with the strength the
    taste fit measured (ranking.score)."""
    fitted = taste_training.fit_taste(table, image_ids=catalog.image_ids, image_key=catalog.image_key, search_keys=catalog.search_keys)
    params = feedback.fit_params(table, defaults=store.default_params())
    if fitted is not None:
        params = dataclasses.replace(params, segment_strength=fitted.strength)
    return params, fitted


def fit_lineage(table: feedback.FeedbackTable, catalog: Catalog, fitted: taste_training.FittedTaste | None) -> lineage.Lineage | None:
    """Bred pictures' offsets from their parents' evidence (recommend.lineage); none without a taste model."""
    if fitted is None:
        return None
    return lineage.fit_lineage(
        table,
        image_ids=catalog.image_ids,
        image_key=catalog.image_key,
        search_keys=catalog.search_keys,
        fitted=fitted.taste,
        strength=fitted.strength,
        weight=settings.RECOMMEND_LINEAGE_WEIGHT,
    )


def _replace_touched(counts: counting.Counts, catalog: Catalog, touched: list[int]) -> tuple[list, list]:
    """An incremental rebuild's counters: only the rows of the images (and their search keys) that
    new events touched are rewritten; every other row is as the last rebuild wrote it, as no event
    changed it since (an event bumps exactly the rows it touches)."""
    if not touched:
        return [], []
    index = np.array(touched, dtype=np.int64)
    ids = catalog.image_ids[index].tolist()
    key_index = np.unique(catalog.image_key[index])
    keys = [catalog.search_keys[k] for k in key_index]
    image_rows, favorite_rows = [], []
    for row, segment in enumerate(counts.segments):
        n, likes, dislikes = counts.img_n[row, index], counts.img_l[row, index], counts.img_d[row, index]
        nz = np.flatnonzero(n | likes | dislikes)
        image_rows.extend((segment, ids[i], int(n[i]), int(likes[i]), int(dislikes[i])) for i in nz)
        n, likes = counts.key_n[row, key_index], counts.key_l[row, key_index]
        favorite_rows.extend((segment, keys[i], int(n[i]), int(likes[i])) for i in np.flatnonzero(n | likes))
    retired_images = rows_where(RetiredImageStat._meta.db_table, "image_id", ids, IMAGE_COLUMNS)
    retired_favorites = rows_where(RetiredFavoriteStat._meta.db_table, "search_key", keys, FAVORITE_COLUMNS)
    rows_where(ImageStat._meta.db_table, "image_id", ids)
    rows_where(FavoriteStat._meta.db_table, "search_key", keys)
    if retired_images or retired_favorites:
        image_rows, favorite_rows = with_retired(image_rows, favorite_rows, retired=(retired_images, retired_favorites))
    _insert_counters(image_rows, favorite_rows)
    return image_rows, favorite_rows


def _als(catalog: Catalog) -> bytes:
    """ALS item factors from every (visitor, segment, image) pair's net likes, aggregated in the
    database: memory grows with the liked pairs, not the events."""
    from recommend.als import fit_als

    sql = (
        f"SELECT visitor_id, segment, item_key, SUM(CASE WHEN event_type = 'click' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN event_type = 'dislike' THEN 1 ELSE 0 END) FROM {Interaction._meta.db_table} "
        f"WHERE event_type IN ('click', 'dislike') GROUP BY visitor_id, segment, item_key ORDER BY visitor_id, segment, item_key"
    )
    users, items, visitors = [], [], {}
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(20000):
            for visitor_id, segment, item_key, likes, dislikes in batch:
                item = catalog.key_index.get(item_key, -1)
                if item >= 0 and likes > feedback.undone_likes(likes, dislikes):
                    users.append(visitors.setdefault((visitor_id, segment), len(visitors)))
                    items.append(item)
    factors = fit_als(
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        n_users=len(visitors),
        n_items=len(catalog.image_ids),
        factors=settings.RECOMMEND_ALS_FACTORS,
    )
    if factors is None:
        return b""
    factors.item_ids = catalog.image_ids
    return factors.dumps()
