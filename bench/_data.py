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
    ids = dict(Image.objects.values_list("key", "id"))
    for key, emotion, favorite, orientation, _ in image_rows:
        by_key.setdefault((emotion, favorite, orientation), []).append(key)
    visitors = max(interactions // 10, 1)
    generations = [g.value for g in Visitor.Generation]
    visitor_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(visitors)]
    vtemplate = _required_columns(
        Visitor._meta.db_table,
        {"id": None, "generation": None, "gender": None, "segment": "", "emotion": "happy", "first_seen": start, "last_seen": start},
    )
    vcolumns = list(vtemplate)
    labels = {v: {"id": v, "generation": rng.choice(generations), "gender": rng.choice(("Male", "Female"))} for v in visitor_ids}
    for label in labels.values():  # COPY skips Visitor.save(), which keeps the stored segment
        label["segment"] = segment_of(label["generation"], label["gender"])
    with transaction.atomic():
        _copy(Visitor._meta.db_table, vcolumns, ([labels[v].get(c, vtemplate[c]) for c in vcolumns] for v in visitor_ids))
    # Each event carries the segment it is counted under, as recommend.eventlog writes it.
    segments = {v: label["segment"] for v, label in labels.items()}
    groups = list(by_key.values())
    weights = np.random.default_rng(seed).zipf(1.6, len(groups)).astype(float)
    cumulative = np.cumsum(weights / weights.sum()).tolist()

    def interaction_rows():
        for n in range(interactions):
            visitor = visitor_ids[rng.randrange(visitors)]
            group = groups[min(np.searchsorted(cumulative, rng.random()), len(groups) - 1)]
            shown = rng.sample(group, 3) if len(group) >= 3 else group
            at = start + timedelta(seconds=n * 2, microseconds=rng.randrange(10**6))
            if rng.random() < 0.7:
                liked = rng.choice(shown)
                yield (visitor, ids[liked], liked, "click", json.dumps(shown), at, segments[visitor], 0)
            else:
                yield (visitor, None, "", "impression", json.dumps(shown), at, segments[visitor], 0)

    columns = ["visitor_id", "image_id", "item_key", "event_type", "impression", "created_at", "segment", "unknown_keys"]
    with transaction.atomic():
        _copy(Interaction._meta.db_table, columns, interaction_rows())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"load_seconds": round(time.perf_counter() - t0, 1), "visitors": visitors, "visitor_ids": [str(v) for v in visitor_ids[:2000]]}
