"""Recommender benchmark on PostgreSQL: fit time for 1M interactions, /garden p50/p99 with 100k
images, against baselines measured in the same run (popularity fit; /gardenfromDB and the
popularity ranker for latency).

    .venv/bin/python bench/recommend.py                      # 100k images, 1M interactions
    .venv/bin/python bench/recommend.py --images 10000 --interactions 100000 --requests 200
    .venv/bin/python bench/recommend.py --smoke              # 3,000 images, 10,000 interactions, 25 requests

Uses (and creates) its own database, ``garden_bench`` on 127.0.0.1 (override with
BENCH_DATABASE_URL); the data is bulk-loaded with COPY and reused when the sizes match
(``--reload`` forces a fresh load). Results: bench/results/recommend.json. ``--smoke``: on
``garden_bench_smoke`` (or beside DATABASE_URL when that is PostgreSQL: testkit/smoke.py), no
results file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._data import ensure_database, load, search_keys  # noqa: E402 (after the path is set)
from testkit import smoke  # noqa: E402

SMOKE_NEEDS = ("postgresql",)  # tests/bench/test_smoke.py

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench")


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


def percentiles(samples: list[float]) -> dict:
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2)}


def latency(path: str, bodies: list[dict], backend: str | None = None) -> dict:
    from django.conf import settings
    from django.test import Client

    if backend:
        settings.RECOMMEND_BACKEND = backend  # the ranker is rebuilt for the new setting
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
    parser.add_argument("--smoke", action="store_true", help="3,000 images, 10,000 interactions, 25 requests: seconds")
    args = parser.parse_args()
    if args.smoke:
        global BENCH_URL
        BENCH_URL = smoke.database_url("recommend", BENCH_URL + "_smoke", "BENCH_DATABASE_URL")
        args.images, args.interactions, args.requests = 3000, 10_000, 25

    ensure_database(BENCH_URL)
    setup_django()
    from django.db import connection

    from garden.models import Image
    from recommend import training
    from recommend.models import Interaction

    result: dict = {"images": args.images, "interactions": args.interactions, "database": BENCH_URL.rsplit("@", 1)[-1]}
    if args.reload or Image.objects.all_pictures().count() != args.images or Interaction.objects.count() != args.interactions:
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
    if not args.smoke:
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "recommend.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
