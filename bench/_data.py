"""Shared by the PostgreSQL benchmarks: their own database, and a garden of 100k serving images
with 1M interactions bulk-loaded with COPY (bench/recommend.py, bench/serving.py).

Not a benchmark itself (the leading underscore keeps bench/run_all.py from running it).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


SEASONS = ("spring", "summer", "autumn", "winter")
WEATHER = ("cloudy", "rainy", "snowy", "sunny")
TIMES = ("day", "sunset", "the-early-dawn", "the-middle-of-the-night")


def search_keys() -> list[tuple[str, str]]:
    from garden.keys import EMOTIONS

    favorites = [""] + [f"{s},{w},{t}" for s in SEASONS for w in WEATHER for t in TIMES]
    return [(e, f) for e in EMOTIONS for f in favorites]


def _copy(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    raw = connection.cursor().cursor
    with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _required_columns(table: str, given: dict) -> dict:
    """Fill NOT NULL columns other apps may have added with neutral values, by type."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s AND is_nullable = 'NO' "
            "AND column_default IS NULL AND is_generated = 'NEVER' AND column_name <> 'id'",
            [table],
        )
        extra = {}
        for name, kind in cursor.fetchall():
            if name in given:
                continue
            extra[name] = (
                False
                if kind == "boolean"
                else 0
                if kind in ("integer", "bigint", "smallint", "double precision")
                else "{}"
                if kind == "jsonb"
                else datetime.now(UTC)
                if "timestamp" in kind
                else ""
            )
    return {**given, **extra}


def load(images: int, interactions: int, seed: int = 1) -> dict:
    from django.db import connection, transaction

    from garden import keys as gk
    from garden.models import Image, Visitor
    from garden.services import serving_changed
    from garden.visitors import segment_of
    from recommend.models import FavoriteStat, ImageStat, Interaction, ModelVersion, Recommendation

    rng = random.Random(seed)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Interaction, Recommendation, ImageStat, FavoriteStat, ModelVersion, Visitor, Image):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    t0 = time.perf_counter()
    keys = search_keys()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    image_rows, by_key = [], {}
    for n in range(images):
        emotion, favorite = keys[n % len(keys)]
        orientation = "h" if (n // len(keys)) % 2 == 0 else "v"
        key = gk.build_key(
            prefix="emotions", emotion=emotion, favorite=favorite, timestr=f"20260101-000000-{n:06x}", index=n, orientation=orientation
        )
        image_rows.append((key, emotion, favorite, orientation, start + timedelta(seconds=n)))
    template = _required_columns(
        Image._meta.db_table,
        {
            "key": None,
            "status": "serving",
            "emotion": None,
            "favorite": None,
            "orientation": None,
            "created_at": None,
            "width": 1280,
            "height": 800,
        },
    )
    columns = list(template)
    with transaction.atomic():
        # A new serving set, so a new serving version, as every service that changes the set gives
        # it: without one, a process that served the previous garden (bench/growth.py measures one
        # size after another in one process) kept serving that garden's candidate sets and
        # rendered answers, and timed them instead of this garden's.
        serving_changed()
        _copy(
            Image._meta.db_table,
            columns,
            (
                [
                    dict(zip(("key", "emotion", "favorite", "orientation", "created_at"), row, strict=True)).get(c, template[c])
                    for c in columns
                ]
                for row in image_rows
            ),
        )
    ids = dict(Image.objects.all_pictures().values_list("key", "id"))
    for key, emotion, favorite, orientation, _ in image_rows:
        by_key.setdefault((emotion, favorite, orientation), []).append(key)
    visitors = max(interactions // 10, 1)
    age_groups = [g.value for g in Visitor.AgeGroup]
    visitor_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(visitors)]
    vtemplate = _required_columns(
        Visitor._meta.db_table,
        {"id": None, "age_group": None, "gender": None, "segment": "", "emotion": "happy", "first_seen": start, "last_seen": start},
    )
    vcolumns = list(vtemplate)
    labels = {v: {"id": v, "age_group": rng.choice(age_groups), "gender": rng.choice(("Male", "Female"))} for v in visitor_ids}
    for label in labels.values():  # COPY skips Visitor.save(), which keeps the stored segment
        label["segment"] = segment_of(label["age_group"], label["gender"])
    with transaction.atomic():
        _copy(Visitor._meta.db_table, vcolumns, ([labels[v].get(c, vtemplate[c]) for c in vcolumns] for v in visitor_ids))
    # Each event carries the segment it is counted under, as recommend.eventlog writes it.
    segments = [labels[v]["segment"] for v in visitor_ids]
    groups = list(by_key.values())
    weights = np.random.default_rng(seed).zipf(1.6, len(groups)).astype(float)
    columns = ["visitor_id", "image_id", "item_key", "event_type", "impression", "created_at", "segment", "unknown_keys"]
    with transaction.atomic(), connection.cursor() as cursor:
        # Bulk-load practice: the table's secondary indexes are dropped during COPY and built once
        # after, and the image foreign key's per-row check is off (every id comes from the table).
        # What the benchmarks then measure reads the same table, indexes and constraints as ever.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
            [Interaction._meta.db_table, "%pkey"],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL session_replication_role = replica")
        raw = cursor.cursor
        with raw.copy(f"COPY {Interaction._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for lines in _interaction_lines(interactions, groups, weights, ids, visitor_ids, segments, start, seed):
                copy.write(lines)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        for _, definition in indexes:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"load_seconds": round(time.perf_counter() - t0, 1), "visitors": visitors, "visitor_ids": [str(v) for v in visitor_ids[:2000]]}


def _interaction_lines(interactions, groups, weights, ids, visitor_ids, segments, start, seed, chunk=200_000):
    """COPY text of the events, a chunk at a time, drawn with numpy (a Python loop per event made
    a million events take minutes): a visitor at random, a search key's group by Zipf weight,
    three distinct images of it on screen, a like of one of them 70% of the time."""
    rng = np.random.default_rng(seed + 1)
    cumulative = np.cumsum(weights / weights.sum())
    sizes = np.array([len(group) for group in groups])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = [key for group in groups for key in group]
    quoted = [_json_string(key) for key in flat]
    flat_ids = [ids[key] for key in flat]
    visitors = [str(v) for v in visitor_ids]
    base = np.datetime64(start.replace(tzinfo=None), "us")
    for first in range(0, interactions, chunk):
        n = min(chunk, interactions - first)
        group = np.minimum(np.searchsorted(cumulative, rng.random(n)), len(groups) - 1)
        size = sizes[group]
        # Three distinct positions in the group (all of it when it holds fewer than three).
        a = rng.integers(0, size)
        b = rng.integers(0, np.maximum(size - 1, 1))
        b = b + (b >= a)
        c = rng.integers(0, np.maximum(size - 2, 1))
        low, high = np.minimum(a, b), np.maximum(a, b)
        c = c + (c >= low)
        c = c + (c >= high)
        picks = np.stack([a, b, c], axis=1)
        picks = np.where(picks < size[:, None], picks, np.arange(3)[None, :] % size[:, None])
        shown = offsets[group][:, None] + picks
        liked = rng.random(n) < 0.7
        liked_of = shown[np.arange(n), rng.integers(0, 3, n)]
        visitor = rng.integers(0, len(visitors), n)
        at = base + (np.arange(first, first + n) * 2_000_000 + rng.integers(0, 10**6, n)).astype("timedelta64[us]")
        times = np.datetime_as_string(at, unit="us")
        out = []
        for row in range(n):
            s0, s1, s2 = shown[row]
            screen = "[" + ", ".join(dict.fromkeys((quoted[s0], quoted[s1], quoted[s2]))) + "]"
            v = visitor[row]
            if liked[row]:
                item = liked_of[row]
                out.append(f"{visitors[v]}\t{flat_ids[item]}\t{flat[item]}\tclick\t{screen}\t{times[row]}+00\t{segments[v]}\t0\n")
            else:
                out.append(f"{visitors[v]}\t\\N\t\timpression\t{screen}\t{times[row]}+00\t{segments[v]}\t0\n")
        yield "".join(out).encode()


def _json_string(text: str) -> str:
    """A JSON string as COPY's text format carries it (garden keys hold no tab or backslash)."""
    return json.dumps(text)
