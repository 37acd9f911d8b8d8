"""Recommender benchmark on PostgreSQL: fit time for 1M interactions, /garden p50/p99 with 100k
images, against baselines measured in the same run (popularity fit; /gardenfromDB and the
popularity ranker for latency).

    .venv/bin/python bench/recommend.py                      # 100k images, 1M interactions
    .venv/bin/python bench/recommend.py --images 10000 --interactions 100000 --requests 200

Uses (and creates) its own database, ``garden_bench`` on 127.0.0.1 (override with
BENCH_DATABASE_URL); the data is bulk-loaded with COPY and reused when the sizes match
(``--reload`` forces a fresh load). Results: bench/results/recommend.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["GARDEN_KIOSK_RATE"] = "100000000/minute"  # measure the ranker, not the throttle
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("GARDEN_PUBLIC_BASE_URL", "https://cdn.example.org")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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
        {"id": None, "generation": None, "gender": None, "emotion": "happy", "first_seen": start, "last_seen": start},
    )
    vcolumns = list(vtemplate)
    with transaction.atomic():
        _copy(
            Visitor._meta.db_table,
            vcolumns,
            (
                [
                    {"id": v, "generation": rng.choice(generations), "gender": rng.choice(("Male", "Female"))}.get(c, vtemplate[c])
                    for c in vcolumns
                ]
                for v in visitor_ids
            ),
        )
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
                yield (visitor, ids[liked], liked, "click", json.dumps(shown), at)
            else:
                yield (visitor, None, "", "impression", json.dumps(shown), at)

    with transaction.atomic():
        _copy(
            Interaction._meta.db_table, ["visitor_id", "image_id", "item_key", "event_type", "impression", "created_at"], interaction_rows()
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"load_seconds": round(time.perf_counter() - t0, 1), "visitors": visitors, "visitor_ids": [str(v) for v in visitor_ids[:2000]]}


def percentiles(samples: list[float]) -> dict:
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2)}


def latency(path: str, bodies: list[dict], backend: str | None = None) -> dict:
    from django.conf import settings
    from django.test import Client

    from recommend import rankers

    if backend:
        settings.RECOMMEND_BACKEND = backend
        rankers._configured.cache_clear()
    client = Client()
    for body in bodies[:20]:  # warm the connection, caches and the loaded model
        client.post(path, data=json.dumps(body), content_type="application/json")
    samples = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post(path, data=json.dumps(body), content_type="application/json")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:200]
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--als", action="store_true", help="Also time a rebuild with the ALS factors")
    args = parser.parse_args()

    ensure_database(BENCH_URL)
    setup_django()
    from django.db import connection

    from garden.models import Image
    from recommend import training
    from recommend.models import Interaction

    result: dict = {"images": args.images, "interactions": args.interactions, "database": BENCH_URL.rsplit("@", 1)[-1]}
    if args.reload or Image.objects.count() != args.images or Interaction.objects.count() != args.interactions:
        loaded = load(args.images, args.interactions)
        result["load_seconds"] = loaded["load_seconds"]
    visitor_ids = [str(v) for v in Interaction.objects.values_list("visitor_id", flat=True).distinct()[:2000]]

    # Baseline fit: what a popularity ranker needs (likes per image), in one GROUP BY.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT image_id, count(*) FROM {Interaction._meta.db_table} WHERE event_type = 'click' GROUP BY image_id")
        cursor.fetchall()
    result["fit_popularity_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    version = training.rebuild(with_als=False)
    result["fit_counting_s"] = round(time.perf_counter() - started, 2)
    result["fit_counting_detail"] = version.metrics
    if args.als:
        started = time.perf_counter()
        training.rebuild(with_als=True)
        result["fit_counting_als_s"] = round(time.perf_counter() - started, 2)
        training.rebuild(with_als=False)  # serve the default model below
    result["fit_ratio_vs_popularity"] = round(result["fit_counting_s"] / max(result["fit_popularity_s"], 1e-3), 1)

    rng = random.Random(3)
    keys = search_keys()
    bodies = []
    for _ in range(args.requests):
        emotion, favorite = rng.choice(keys)
        bodies.append({"id": rng.choice(visitor_ids), "emotion": f"{emotion}/{favorite}" if favorite else emotion, "generation": "adult"})
    result["garden_from_db"] = latency("/gardenfromDB", bodies)
    result["garden_popularity"] = latency("/garden", bodies, backend="popularity")
    result["garden_counting"] = latency("/garden", bodies, backend="local")
    base = result["garden_from_db"]
    result["garden_ratio_vs_gardenfromDB"] = {k: round(result["garden_counting"][k] / max(base[k], 1e-3), 2) for k in ("p50_ms", "p99_ms")}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "recommend.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
