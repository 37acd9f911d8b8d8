"""The kiosk's writes (events, served gardens) in as few database round trips as the database allows.

A like or an impression is one round trip on PostgreSQL (``write_screen``): one statement, prepared
once per connection, resolves what the event names (the images by key, the visitor's labels and
so the segment, the recommendation it answers), inserts the event row and adds its counts to the
counters and new change tokens for their emotions (one random shard each) (recommend.tokens), all data-modifying CTEs
committed on their own (a like answered 200 is durable), and returns the event's id.
Elsewhere (SQLite) the same work is a read (``look_up``) and three statements in one transaction.
A dislike (rare: an undo) reads the visitor's earlier likes first and always takes the steps.

Counters are bumped with INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n, so concurrent
events add up instead of overwriting each other, and rows go in a fixed order so two statements
never lock the same rows in opposite orders. A full rebuild (recommend.training) locks the counter
tables; an event either commits before it (and is read by it) or waits and lands on the new counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.db import connection, transaction

from config.sql import hot_cursor, in_list
from garden import tables
from recommend import tokens
from recommend.models import CounterChange, FavoriteStat, ImageStat, Interaction, Recommendation
from recommend.ranking import SEGMENT_ALL


@dataclass(frozen=True)
class Shown:
    id: int
    search_key: str


@dataclass
class Lookup:
    """What an event names, read in one query."""

    images: dict[str, Shown] = field(default_factory=dict)  # key → image
    segment: str = ""  # the visitor's age/gender segment ("" when unknown)
    recommendation_id: int | None = None  # the /garden answer it refers to, when it exists


def look_up(*, keys: list[str], visitor_id: str, recommendation_id: int | None) -> Lookup:
    """What an event names. Raw SQL: the images, the visitor and the recommendation in one UNION ALL."""
    q = connection.ops.quote_name
    image, image_id, key, search_key = q(tables.IMAGE), q(tables.IMAGE_ID), q(tables.IMAGE_KEY), q(tables.IMAGE_SEARCH_KEY)
    key_in, params = in_list(key, keys)
    parts = [f"SELECT 'i', {image_id}, {key}, {search_key} FROM {image} WHERE {key_in}"] if keys else []
    params = params if keys else []
    parts.append(f"SELECT 'v', NULL, {q(tables.VISITOR_SEGMENT)}, NULL FROM {q(tables.VISITOR)} WHERE {q(tables.VISITOR_ID)} = %s")
    params.append(visitor_id)
    if recommendation_id is not None:
        parts.append(f"SELECT 'r', id, NULL, NULL FROM {Recommendation._meta.db_table} WHERE id = %s")
        params.append(recommendation_id)
    found = Lookup()
    with hot_cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for kind, row_id, first, second in cursor.fetchall():
            if kind == "i":
                found.images[first] = Shown(id=row_id, search_key=second)
            elif kind == "v":
                found.segment = first
            else:
                found.recommendation_id = row_id
    return found


@dataclass
class Counts:
    """Counter increments of one event: per (segment, image) and per (segment, search key)."""

    images: dict[tuple[str, int], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    favorites: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @classmethod
    def of(
        cls, *, segment: str, shown: Iterable[Shown], liked: Shown | None = None, like_delta: int = 0, disliked: Shown | None = None
    ) -> Counts:
        """Everyone's and the segment's counts: impressions of what was shown, a like, a dislike."""
        counts = cls()
        shown = list(shown)
        for seg in [SEGMENT_ALL] + ([segment] if segment else []):
            for image in shown:
                counts.images[(seg, image.id)][0] += 1
                counts.favorites[(seg, image.search_key)][0] += 1
            if liked is not None and like_delta:
                counts.images[(seg, liked.id)][1] += like_delta
                counts.favorites[(seg, liked.search_key)][1] += like_delta
            if disliked is not None:
                counts.images[(seg, disliked.id)][2] += 1
        return counts

    def image_rows(self) -> list[tuple[int, str, int, int, int]]:
        """(image id, segment, impressions, likes, dislikes), in lock order."""
        return sorted((image_id, seg, n, likes, dislikes) for (seg, image_id), (n, likes, dislikes) in self.images.items())

    def emotions(self) -> list[str]:
        """The emotions whose counters these counts change, in lock order."""
        return sorted({search_key.partition("/")[0] for _, search_key in self.favorites})

    def favorite_rows(self) -> list[tuple[str, str, int, int]]:
        """(segment, search key, impressions, likes), in lock order."""
        return sorted((seg, key, n, likes) for (seg, key), (n, likes) in self.favorites.items())


@dataclass(frozen=True)
class Event:
    visitor_id: str
    event_type: str
    created_at: datetime
    image_id: int | None = None
    item_key: str = ""
    impression: list[str] = field(default_factory=list)
    unknown_keys: int = 0
    recommendation_id: int | None = None
    segment: str = ""  # the visitor's segment now, kept with the event

    def row(self) -> list:
        impression = orjson.dumps(self.impression).decode()
        return [
            self.visitor_id,
            self.image_id,
            self.item_key,
            self.event_type,
            impression,
            self.unknown_keys,
            self.recommendation_id,
            self.segment,
        ]


EVENT_COLUMNS = "visitor_id, image_id, item_key, event_type, impression, unknown_keys, recommendation_id, segment, created_at"


def write(event: Event, counts: Counts) -> int:
    """Store the event and add its counts; returns the event's id."""
    if connection.vendor == "postgresql":
        event_id = _write_in_one_statement(event, counts)
    else:
        with transaction.atomic():
            event_id = _write_in_steps(event, counts)
    return event_id


@dataclass(frozen=True)
class Written:
    id: int
    event: Event


def write_screen(
    *, visitor_id: str, item_key: str, impression: list[str], recommendation_id: int | None, created_at: datetime
) -> Written | None:
    """A like of ``item_key`` among the ``impression`` keys on screen, or with ``item_key`` "" a
    screen without a like, stored and counted. ``impression`` is deduplicated, in screen order.

    Keys that name no image are dropped and counted in ``unknown_keys``; a like with no known key
    on screen keeps ``[item_key]``. Returns None, having written nothing, when the liked key names
    no image, or when a screen without a like names none.
    """
    if connection.vendor == "postgresql":
        return _screen_in_one_statement(visitor_id, item_key, impression, recommendation_id, created_at)
    return _screen_in_steps(visitor_id, item_key, impression, recommendation_id, created_at)


def _screen_in_steps(visitor_id: str, item_key: str, impression: list[str], recommendation_id: int | None, created_at: datetime):
    shown_keys = list(dict.fromkeys([*impression, item_key])) if item_key else impression
    found = look_up(keys=shown_keys, visitor_id=visitor_id, recommendation_id=recommendation_id)
    liked = found.images.get(item_key) if item_key else None
    known = [key for key in impression if key in found.images]
    if (liked is None) if item_key else not known:
        return None
    event = Event(
        visitor_id=visitor_id,
        event_type=Interaction.Event.CLICK if item_key else Interaction.Event.IMPRESSION,
        created_at=created_at,
        image_id=liked.id if liked else None,
        item_key=item_key,
        impression=known or [item_key],
        unknown_keys=len(impression) - len(known),
        recommendation_id=found.recommendation_id,
        segment=found.segment,
    )
    counts = Counts.of(segment=found.segment, shown=found.images.values(), liked=liked, like_delta=1 if liked else 0)
    return Written(write(event, counts), event)


def _screen_sql() -> str:
    """The statement of ``write_screen`` on PostgreSQL; one text, so it is prepared once per connection.

    ``go`` has a row only when the event is to be written: every insert reads from it, so a like of
    an unknown key (or a screen of unknown keys) writes nothing and returns no row. The segment is
    the one stored on the visitor's row (garden.Visitor.segment).
    """
    q = connection.ops.quote_name
    image, image_id, key, search_key = q(tables.IMAGE), q(tables.IMAGE_ID), q(tables.IMAGE_KEY), q(tables.IMAGE_SEARCH_KEY)
    visitor, visitor_id, segment = q(tables.VISITOR), q(tables.VISITOR_ID), q(tables.VISITOR_SEGMENT)
    recommendation = Recommendation._meta.db_table
    images, favorites, changes = ImageStat._meta.db_table, FavoriteStat._meta.db_table, CounterChange._meta.db_table
    # garden's columns are renamed at the boundary: the statement below reads shown's and visitor's own.
    return f"""
        WITH shown AS MATERIALIZED (
            SELECT {image_id} AS id, {key} AS key, {search_key} AS search_key FROM {image} WHERE {key} = ANY(%(keys)s::text[])
        ), visitor AS (
            SELECT coalesce((SELECT {segment} FROM {visitor} WHERE {visitor_id} = %(visitor)s::text), '') AS segment
        ), liked AS (
            SELECT id, search_key FROM shown WHERE key = %(item)s::text
        ), known AS (
            SELECT coalesce(jsonb_agg(k.key ORDER BY k.n), '[]'::jsonb) AS keys, count(*) AS n
            FROM unnest(%(impression)s::text[]) WITH ORDINALITY AS k(key, n) WHERE k.key IN (SELECT key FROM shown)
        ), go AS (
            SELECT 1 AS one WHERE CASE WHEN %(item)s::text <> '' THEN EXISTS (SELECT FROM liked) ELSE EXISTS (SELECT FROM shown) END
        ), event AS (
            INSERT INTO {Interaction._meta.db_table} ({EVENT_COLUMNS})
            SELECT %(visitor)s::text, (SELECT id FROM liked), %(item)s::text, %(event_type)s::text,
                CASE WHEN known.n = 0 THEN jsonb_build_array(%(item)s::text) ELSE known.keys END,
                cardinality(%(impression)s::text[]) - known.n,
                (SELECT id FROM {recommendation} WHERE id = %(recommendation)s::bigint),
                visitor.segment, %(created_at)s::timestamptz
            FROM go, known, visitor
            RETURNING id, image_id, impression, unknown_keys, recommendation_id, segment
        ), segments AS (
            SELECT '{SEGMENT_ALL}'::text AS segment FROM go
            UNION ALL SELECT segment FROM go, visitor WHERE segment <> ''
        ), image_counts AS (
            INSERT INTO {images} AS s (image_id, segment, impressions, likes, dislikes)
            SELECT shown.id, segments.segment, 1, (shown.key = %(item)s::text)::int, 0 FROM shown, segments ORDER BY 1, 2
            ON CONFLICT (image_id, segment) DO UPDATE SET impressions = s.impressions + excluded.impressions,
                likes = s.likes + excluded.likes
        ), favorite_counts AS (
            INSERT INTO {favorites} AS f (segment, search_key, impressions, likes)
            SELECT segments.segment, shown.search_key, count(*), count(*) FILTER (WHERE shown.key = %(item)s::text)
            FROM shown, segments GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (segment, search_key) DO UPDATE SET impressions = f.impressions + excluded.impressions,
                likes = f.likes + excluded.likes
        ), changed AS (
            INSERT INTO {changes} (emotion, shard, token)
            SELECT DISTINCT split_part(shown.search_key, '/', 1), %(shard)s::smallint, %(token)s::text FROM shown, go ORDER BY 1
            ON CONFLICT (emotion, shard) DO UPDATE SET token = excluded.token
        )
        SELECT event.* FROM event
    """


def _screen_in_one_statement(
    visitor_id: str, item_key: str, impression: list[str], recommendation_id: int | None, created_at: datetime
) -> Written | None:
    """The event written; None when nothing was."""
    event_type = Interaction.Event.CLICK if item_key else Interaction.Event.IMPRESSION
    params = {
        "keys": list(dict.fromkeys([*impression, item_key])) if item_key else impression,
        "visitor": visitor_id,
        "item": item_key,
        "impression": impression,
        "event_type": str(event_type),
        "recommendation": recommendation_id,
        "created_at": created_at,
        "shard": tokens.new_shard(),
        "token": tokens.new_token(),
    }
    with hot_cursor() as cursor:
        cursor.execute(_screen_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    event_id, image_id, stored_impression, unknown_keys, answered, segment = row
    if isinstance(stored_impression, str):  # Django's cursor leaves jsonb as text
        stored_impression = orjson.loads(stored_impression)
    event = Event(
        visitor_id=visitor_id,
        event_type=event_type,
        created_at=created_at,
        image_id=image_id,
        item_key=item_key,
        impression=stored_impression,
        unknown_keys=unknown_keys,
        recommendation_id=answered,
        segment=segment,
    )
    return Written(event_id, event)


def _write_in_one_statement(event: Event, counts: Counts) -> int:
    """``write`` on PostgreSQL: the event row and its counter upserts as one statement (data-modifying CTEs)."""
    image_rows, favorite_rows = counts.image_rows(), counts.favorite_rows()
    images, favorites, changes = ImageStat._meta.db_table, FavoriteStat._meta.db_table, CounterChange._meta.db_table
    sql = f"""
        WITH event AS (
            INSERT INTO {Interaction._meta.db_table} ({EVENT_COLUMNS})
            VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s) RETURNING id
        ), image_counts AS (
            INSERT INTO {images} AS s (image_id, segment, impressions, likes, dislikes)
            SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[]) ORDER BY 1, 2
            ON CONFLICT (image_id, segment) DO UPDATE SET impressions = s.impressions + excluded.impressions,
                likes = s.likes + excluded.likes, dislikes = s.dislikes + excluded.dislikes
        ), favorite_counts AS (
            INSERT INTO {favorites} AS f (segment, search_key, impressions, likes)
            SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[]) ORDER BY 1, 2
            ON CONFLICT (segment, search_key) DO UPDATE SET impressions = f.impressions + excluded.impressions,
                likes = f.likes + excluded.likes
        ), changed AS (
            INSERT INTO {changes} (emotion, shard, token) SELECT unnest(%s::text[]), %s::smallint, %s::text ORDER BY 1
            ON CONFLICT (emotion, shard) DO UPDATE SET token = excluded.token
        )
        SELECT id FROM event
    """
    params = [
        *event.row(),
        _timestamp(event.created_at),
        *_columns(image_rows, 5),
        *_columns(favorite_rows, 4),
        counts.emotions(),
        tokens.new_shard(),
        tokens.new_token(),
    ]
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _timestamp(value: datetime):
    """A datetime as the ORM stores it (SQLite: a naive UTC string), for raw statements."""
    return connection.ops.adapt_datetimefield_value(value)


def _columns(rows: list[tuple], width: int) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _write_in_steps(event: Event, counts: Counts) -> int:
    """``write`` where statements cannot modify data in CTEs (SQLite): the row, then the upserts."""
    # The row goes in before the counters: a rebuild holding the counter lock then either sees
    # this row (committed) or not, and the blocked counter update lands after it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Interaction._meta.db_table} ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [*event.row(), _timestamp(event.created_at)],
        )
        event_id = cursor.fetchone()[0]
    _upsert(
        ImageStat._meta.db_table, ("image_id", "segment"), ("image_id", "segment", "impressions", "likes", "dislikes"), counts.image_rows()
    )
    _upsert(
        FavoriteStat._meta.db_table, ("segment", "search_key"), ("segment", "search_key", "impressions", "likes"), counts.favorite_rows()
    )
    tokens.renew(counts.emotions())
    return event_id


def _upsert(table: str, conflict: tuple[str, ...], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Add ``rows`` to the counters. Raw SQL: the ORM has no ``ON CONFLICT … SET n = n + excluded.n``."""
    if not rows:
        return
    increments = [column for column in columns if column not in conflict]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in increments)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def write_recommendation(
    *, visitor_id: str | None, search_key: str, image_ids: list[int], ranker: str, created_at: datetime, fallback: int = 0
) -> int:
    """Keep one /garden answer for attribution; ``fallback`` is a ``recommend.models.Fallback`` value.
    Raw SQL: one INSERT … RETURNING on a connection-prepared statement (config.sql.hot_cursor)."""
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    with hot_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Recommendation._meta.db_table} (visitor_id, search_key, image_ids, ranker, created_at, fallback) "
            f"VALUES (%s, %s, %s{jsonb}, %s, %s, %s) RETURNING id",
            [visitor_id, search_key, orjson.dumps(image_ids).decode(), ranker, _timestamp(created_at), fallback],
        )
        return cursor.fetchone()[0]
