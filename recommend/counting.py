"""The model's counts, streamed from the interactions table and kept between rebuilds.

The counting model (feedback.count_feedback) is a sum over events except for likes: a visitor's
likes of an image net out against their dislikes (an undo), per (visitor, segment, image) pair.
So the counts are built as sums streamed in chunks (impressions, dislikes, raw likes), and the
undo correction, min(likes, dislikes) per pair, is read for the pairs that have a dislike: peak
memory is the dense tables (segments x images), never the events.

``StoredCounts`` holds the counts as of a high-water mark (an event id): a periodic rebuild adds
the events after it, and recomputes the correction of the pairs those events touch. It also keeps
the catalog the counts were made against (image ids and search keys, by id), so that rebuild reads
only the images the new events name and those added since, never the whole catalog. Events deleted
(retention, a deletion request) drop the stored counts (``forget``); an image deleted or re-keyed
bumps the catalog's version (garden.catalog_changes), which makes them stale. Either way the next
rebuild recounts everything.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import orjson
from django.db import connection, transaction

from recommend import feedback, ranking
from recommend.models import Interaction, StoredCounts

CHUNK = 20000  # events per fetch: the streamed read's memory
KIND = {"click": ranking.CLICK, "impression": ranking.IMPRESSION, "dislike": ranking.DISLIKE}
ARRAYS = ("img_n", "img_l", "img_d", "key_n", "key_l")


@dataclass
class Counts:
    """Dense counts of the events up to ``through`` (no retired counts): the FeedbackTable's, with
    segments in the order events first named them (as the in-memory count orders them)."""

    segments: list[str]
    img_n: np.ndarray
    img_l: np.ndarray
    img_d: np.ndarray
    key_n: np.ndarray
    key_l: np.ndarray
    through: int = 0  # highest event id counted
    events: int = 0  # events counted

    @classmethod
    def empty(cls, n_images: int, n_keys: int) -> Counts:
        def zeros(width):
            return np.zeros((1, width), dtype=np.int64)

        return cls([ranking.SEGMENT_ALL], zeros(n_images), zeros(n_images), zeros(n_images), zeros(n_keys), zeros(n_keys))

    def segment(self, name: str) -> int:
        """The row of a segment ("" → 0: everyone only), added when new."""
        if not name:
            return 0
        if name not in self.segments:
            self.segments.append(name)
            for attr in ARRAYS:
                table = getattr(self, attr)
                setattr(self, attr, np.vstack([table, np.zeros((1, table.shape[1]), dtype=np.int64)]))
        return self.segments.index(name)

    def widen(self, n_images: int, n_keys: int) -> None:
        """Columns for images and search keys added since (they come last: the catalog is by id)."""
        for attr in ARRAYS:
            table = getattr(self, attr)
            width = n_keys if attr.startswith("key") else n_images
            if table.shape[1] < width:
                setattr(self, attr, np.hstack([table, np.zeros((table.shape[0], width - table.shape[1]), dtype=np.int64)]))

    def table(self) -> feedback.FeedbackTable:
        return feedback.FeedbackTable(self.segments, self.img_n, self.img_l, self.img_d, self.key_n, self.key_l)

    def add(self, attr: str, rows: list[int], columns: list[int], weight: int | np.ndarray = 1) -> None:
        """Add to row 0 (everyone) and to each entry's own segment row."""
        if not columns:
            return
        table = getattr(self, attr)
        rows_a, columns_a = np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64)
        weights = np.broadcast_to(np.asarray(weight, dtype=np.int64), columns_a.shape)
        np.add.at(table[0], columns_a, weights)
        own = rows_a > 0
        np.add.at(table, (rows_a[own], columns_a[own]), weights[own])


@dataclass
class Streamed:
    """What a streamed read saw besides the counts."""

    last_id: int = 0
    recent_ids: set[int] = field(default_factory=set)  # ids of events created after ``recent_since``
    pairs: set[tuple[str, str, int]] = field(default_factory=set)  # (visitor, segment, image) liked or undone
    images: set[int] = field(default_factory=set)  # image indices whose counts changed


def stream(
    counts: Counts,
    key_index: dict[str, int],
    image_key: np.ndarray,
    *,
    where: str,
    params: list,
    skip: set[int] = frozenset(),  # type: ignore[assignment]
    recent_since=None,
    track_pairs: bool = False,
    resolve: Callable[[set[str]], None] | None = None,
) -> Streamed:
    """Add the events matching ``where`` (but not ``skip``) to ``counts``, a chunk at a time, in id
    order: impressions, dislikes and raw likes (the undo correction is ``correct``'s). Raw SQL on a
    server-side cursor (PostgreSQL): the ORM's per-row work would cost more than the counting.
    ``resolve``, when given, is called with each chunk's image keys first, to add those it knows
    to ``key_index`` (an incremental rebuild's index holds only the keys its events name)."""
    table = Interaction._meta.db_table
    # Whether an event is recent is the database's comparison: parsing every timestamp here would
    # cost more than counting the event.
    recent = "created_at >= %s" if recent_since is not None else "1 = 0"
    sql = (
        f"SELECT id, visitor_id, segment, event_type, item_key, CAST(impression AS TEXT), CASE WHEN {recent} THEN 1 ELSE 0 END "
        f"FROM {table} {where} ORDER BY id"
    )
    params = ([recent_since] if recent_since is not None else []) + list(params)
    seen = Streamed()
    loads = orjson.loads  # faster than json on many small arrays (docs/benchmarks.md#figures-behind-the-code)
    # In a transaction: a server-side cursor outside one is WITH HOLD, the whole result copied first.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK):
            screens = [loads(row[5]) if row[5] else () for row in batch]
            if resolve is not None:
                resolve({row[4] for row in batch}.union(*screens))
            shown_seg, shown_img, liked_seg, liked_img, undone_seg, undone_img = [], [], [], [], [], []
            for (event_id, visitor_id, segment, event_type, item_key, _impression, is_recent), screen in zip(batch, screens, strict=True):
                seen.last_id = max(seen.last_id, event_id)
                if is_recent:
                    seen.recent_ids.add(event_id)
                kind = KIND.get(event_type)
                if kind is None or event_id in skip:
                    continue
                row = counts.segment(segment)
                counts.events += 1
                item = key_index.get(item_key, -1)
                if kind != ranking.IMPRESSION and item < 0:
                    continue
                if kind == ranking.DISLIKE:  # an undo is not a new impression
                    undone_seg.append(row)
                    undone_img.append(item)
                else:
                    shown = [key_index[k] for k in screen if k in key_index]
                    if kind == ranking.CLICK:
                        liked_seg.append(row)
                        liked_img.append(item)
                        if item not in shown:
                            shown.append(item)
                    shown_seg.extend([row] * len(shown))
                    shown_img.extend(shown)
                if track_pairs and kind != ranking.IMPRESSION:
                    seen.pairs.add((visitor_id, segment, item))
            counts.add("img_n", shown_seg, shown_img)
            counts.add("key_n", shown_seg, image_key[shown_img].tolist() if shown_img else [])
            counts.add("img_l", liked_seg, liked_img)
            counts.add("key_l", liked_seg, image_key[liked_img].tolist() if liked_img else [])
            counts.add("img_d", undone_seg, undone_img)
            if track_pairs:
                seen.images.update(shown_img, liked_img, undone_img)
    counts.through = max(counts.through, seen.last_id)
    return seen


def correct_all(counts: Counts, key_index: dict[str, int], image_key: np.ndarray, *, where: str = "", params: list | None = None) -> None:
    """Net out undos over every pair with a dislike among the counted events (those up to
    ``counts.through``, or those matching ``where``): min(likes, dislikes) each."""
    table = Interaction._meta.db_table
    condition = where.removeprefix("WHERE ") if where else "id <= %s"
    values = list(params or []) if where else [counts.through]
    # Aggregated over the pairs with a dislike only (undos are rare), not over every like.
    sql = (
        f"SELECT visitor_id, segment, item_key, "
        f"SUM(CASE WHEN event_type = 'click' THEN 1 ELSE 0 END), SUM(CASE WHEN event_type = 'dislike' THEN 1 ELSE 0 END) "
        f"FROM {table} WHERE event_type IN ('click', 'dislike') AND ({condition}) AND (visitor_id, segment, item_key) IN "
        f"(SELECT visitor_id, segment, item_key FROM {table} WHERE event_type = 'dislike' AND ({condition})) "
        f"GROUP BY visitor_id, segment, item_key"
    )
    rows, columns, weights = [], [], []
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, values + values)
        while batch := cursor.fetchmany(CHUNK):
            for _visitor, segment, item_key, likes, dislikes in batch:
                item = key_index.get(item_key, -1)
                if item >= 0 and (undone := int(feedback.undone_likes(likes, dislikes))):
                    rows.append(counts.segment(segment))
                    columns.append(item)
                    weights.append(-undone)
    _add_likes(counts, image_key, rows, columns, weights)


def correct_pairs(counts: Counts, key_index: dict[str, int], image_key: np.ndarray, pairs: set, *, before: int) -> set[int]:
    """Net out undos for the pairs new events touched (an incremental count): each pair's
    min(likes, dislikes) now, less what it was over the events up to ``before``. Reads only
    those visitors' likes and dislikes. Returns the image indices whose likes changed."""
    table = Interaction._meta.db_table
    # A pair nets out only if its image was ever undone: none of the others has a row to read.
    pairs = {pair for pair in pairs if counts.img_d[0, pair[2]] > 0}
    visitors = sorted({visitor for visitor, _, _ in pairs})
    tally: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # likes, dislikes: before, now
    postgres = connection.vendor == "postgresql"
    step = max(len(visitors), 1) if postgres else 500  # PostgreSQL: one array parameter
    for start in range(0, len(visitors), step):
        chunk = visitors[start : start + step]
        named, params = ("= ANY(%s)", [chunk]) if postgres else (f"IN ({', '.join(['%s'] * len(chunk))})", chunk)
        # Only visitors with a dislike can have a pair to net out (undos are rare).
        sql = (
            f"SELECT visitor_id, segment, item_key, event_type, id FROM {table} "
            f"WHERE event_type IN ('click', 'dislike') AND id <= %s AND visitor_id IN "
            f"(SELECT visitor_id FROM {table} WHERE event_type = 'dislike' AND visitor_id {named})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [counts.through, *params])
            for visitor, segment, item_key, event_type, event_id in cursor.fetchall():
                pair = (visitor, segment, key_index.get(item_key, -1))
                if pair not in pairs:
                    continue
                offset = 0 if event_type == "click" else 1
                tally[pair][offset + 2] += 1
                if event_id <= before:
                    tally[pair][offset] += 1
    rows, columns, weights = [], [], []
    for (_visitor, segment, item), (likes_then, undone_then, likes, undone) in tally.items():
        delta = int(feedback.undone_likes(likes, undone) - feedback.undone_likes(likes_then, undone_then))
        if delta:
            rows.append(counts.segment(segment))
            columns.append(item)
            weights.append(-delta)
    _add_likes(counts, image_key, rows, columns, weights)
    return set(columns)


def _add_likes(counts: Counts, image_key: np.ndarray, rows: list[int], columns: list[int], weights: list[int]) -> None:
    if columns:
        counts.add("img_l", rows, columns, np.array(weights, dtype=np.int64))
        counts.add("key_l", rows, image_key[columns].tolist(), np.array(weights, dtype=np.int64))


# --- Kept between rebuilds ------------------------------------------------------------------------


@dataclass
class CountedCatalog:
    """The catalog stored counts were made against: image ids by column (ascending), each column's
    search-key index, and the search keys by index."""

    image_ids: np.ndarray
    image_key: np.ndarray
    search_keys: list[str]


def _narrow(table: np.ndarray) -> np.ndarray:
    """The smallest signed integer type that holds every count (most cells are small)."""
    if not table.size:
        return table.astype(np.int8)
    low, high = int(table.min()), int(table.max())
    for dtype in (np.int8, np.int16, np.int32):
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return table.astype(dtype)
    return table


def _widened(table: np.ndarray) -> np.ndarray:
    return table.astype(np.promote_types(table.dtype, np.int32))


def save(counts: Counts, *, catalog: CountedCatalog, catalog_version: int, recounted_at) -> None:
    """Keep ``counts`` (counted against ``catalog``, read at ``catalog_version``) for the next rebuild."""
    buffer = io.BytesIO()
    # Narrowed and deflated, at the fastest level: writing the raw int32 tables (PostgreSQL
    # compressing them again) was most of an incremental rebuild, and numpy's own level was slower
    # still (docs/benchmarks.md#figures-behind-the-code). Image ids are stored as steps from the
    # one before (mostly 1: a byte each).
    arrays = {
        "image_id_steps": _narrow(np.diff(catalog.image_ids, prepend=0)),
        "image_key": _narrow(catalog.image_key),
        **{attr: _narrow(getattr(counts, attr)) for attr in ARRAYS},
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array)
    StoredCounts.objects.update_or_create(
        pk=1,
        defaults={
            "through_id": counts.through,
            "events": counts.events,
            "images": len(catalog.image_ids),
            "catalog_version": catalog_version,
            "segments": counts.segments,
            "search_keys": catalog.search_keys,
            "counts": buffer.getvalue(),
            "recounted_at": recounted_at,
        },
    )


def load(catalog_version: int) -> tuple[Counts, StoredCounts, CountedCatalog] | None:
    """The stored counts and their catalog, when the catalog has not changed since (its version is
    still ``catalog_version``); None: recount everything."""
    stored = StoredCounts.objects.filter(pk=1).first()
    if stored is None or stored.catalog_version != catalog_version:
        return None
    with np.load(io.BytesIO(bytes(stored.counts))) as npz:
        if "image_id_steps" not in npz.files:
            return None
        # int32 unless a count needs more: half the memory and time of int64 for the same values.
        arrays = {attr: _widened(npz[attr]) for attr in ARRAYS}
        catalog = CountedCatalog(
            np.cumsum(npz["image_id_steps"].astype(np.int64)), npz["image_key"].astype(np.int64), list(stored.search_keys)
        )
    if len(catalog.image_ids) != stored.images:
        return None
    counts = Counts(segments=list(stored.segments), through=stored.through_id, events=stored.events, **arrays)
    return counts, stored, catalog


def forget() -> None:
    """Events were deleted: the next rebuild recounts everything."""
    StoredCounts.objects.all().delete()
