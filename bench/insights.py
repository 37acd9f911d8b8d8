"""Insights benchmark on PostgreSQL: the insights page's server time with 1M interactions and 100k
images, against a baseline admin page (the admin index) measured in the same run.

    .venv/bin/python bench/insights.py                        # 100k images, 1M interactions
    .venv/bin/python bench/insights.py --images 10000 --interactions 100000 --repeat 10
    .venv/bin/python bench/insights.py --smoke                # 6,000 images, 20,000 interactions, 1 request a page

What it does:
- uses (and creates) its own database, ``garden_bench_insights`` on 127.0.0.1 (override with
  BENCH_INSIGHTS_DATABASE_URL); bulk-loads with COPY (bench/_data.py helpers) 100k serving images,
  100k visitors with labels, 1M interactions over ~23 days (10% from device ids without a Visitor
  row; 85% attributed to one of ~210k Recommendation rows of several ranker versions; 1% dislikes)
  and 2,000 finished generation jobs;
  reused when the sizes match (``--reload`` forces a fresh load);
- times the first refresh of the rollups (every day from the first event: the backfill an
  installation does once; skipped when the rollups are already there, ``--refresh`` recomputes
  them) and a beat refresh late in the last full day (that whole day is recomputed);
- measures server time in process through the whole middleware stack (median and p90 of
  ``--repeat`` requests after two warm-ups), queries and bytes of: the admin index (the baseline),
  the insights page over the whole month, with an emotion filter, per hour over a week, and one
  CSV download; prints each with its ratio to the baseline. Results: bench/results/insights.json.

The aim (docs/insights.md): the insights page under 500 ms server time. ``--smoke``: its own
database (testkit/smoke.py), no results file.
"""

from __future__ import annotations

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
from bench._data import _copy, _required_columns, ensure_database, search_keys  # noqa: E402 (after the path is set)
from bench.harness import parser, results  # noqa: E402
from testkit import smoke  # noqa: E402

SMOKE_NEEDS = ("postgresql",)  # tests/bench/test_smoke.py

BENCH_URL = os.environ.get("BENCH_INSIGHTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench_insights")
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MS = 500
SLATE, SERVED = 3, 12  # keys on screen, keys per recommendation (four screens)
RANKERS = ("counting-v1", "counting-v2", "counting-v3", "counting-v4+als")


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("GARDEN_PUBLIC_BASE_URL", "https://cdn.example.org")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _table(model) -> str:
    return model._meta.db_table


def _copy_rows(model, given: dict, rows) -> None:
    """COPY rows (dicts of the given columns) into model's table, neutral values for other NOT NULL columns."""
    template = _required_columns(_table(model), given)
    columns = list(template)
    _copy(_table(model), columns, ([row.get(c, template[c]) for c in columns] for row in rows))


def load(images: int, interactions: int, jobs: int, seed: int = 5) -> float:
    from django.db import connection, transaction

    from garden import keys as gk
    from garden.keys import EMOTIONS
    from garden.models import Image, Visitor
    from generation.models import GenerationJob
    from insights.models import FeedbackRollup, ImageRollup, ImageTotal, JobRollup, RecommenderRollup, RollupState, VisitorRollup
    from recommend.models import Interaction, Recommendation

    rng = random.Random(seed)
    started = time.perf_counter()
    rollups = (VisitorRollup, FeedbackRollup, ImageRollup, ImageTotal, RecommenderRollup, JobRollup, RollupState)
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Interaction, Recommendation, GenerationJob, Visitor, Image, *rollups):
            cursor.execute(f"TRUNCATE {_table(model)} CASCADE")
    keys = search_keys()
    by_group: dict[tuple[str, str, str], list[str]] = {}
    image_rows = []
    for n in range(images):
        emotion, favorite = keys[n % len(keys)]
        orientation = "h" if (n // len(keys)) % 2 == 0 else "v"
        key = gk.build_key(
            prefix="emotions", emotion=emotion, favorite=favorite, timestr=f"20260101-000000-{n:06x}", index=n, orientation=orientation
        )
        by_group.setdefault((emotion, favorite, orientation), []).append(key)
        image_rows.append({"key": key, "emotion": emotion, "favorite": favorite, "orientation": orientation, "created_at": START})
    with transaction.atomic():
        _copy_rows(
            Image,
            {
                "key": None,
                "status": "serving",
                "emotion": None,
                "favorite": None,
                "orientation": None,
                "created_at": None,
                "width": 1280,
                "height": 800,
                "thumbnail_key": "thumbs/bench.webp",
            },
            image_rows,
        )
    ids = dict(Image.objects.all_pictures().values_list("key", "id"))

    span = timedelta(seconds=2 * interactions)
    visitor_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(max(interactions // 10, 1))]
    # Old devices send their own ids and may never call /emotion: events without a Visitor row.
    device_ids = [f"device-{number}" for number in range(max(interactions // 100, 1))]
    age_groups = list(Visitor.AgeGroup.values)
    moods = rng.choices(EMOTIONS, weights=(30, 12, 25, 6, 5, 3, 4, 15), k=len(visitor_ids))

    def visitor_rows():
        for visitor, mood in zip(visitor_ids, moods, strict=True):
            first = START + span * rng.random()
            yield {
                "id": visitor,
                "age_group": rng.choice(age_groups),
                "gender": rng.choice(("Male", "Female")),
                "emotion": mood,
                "first_seen": first,
                "last_seen": first + timedelta(minutes=rng.randrange(1, 20)),
            }

    with transaction.atomic():
        _copy_rows(
            Visitor,
            {"id": None, "age_group": None, "gender": None, "emotion": None, "first_seen": None, "last_seen": None},
            visitor_rows(),
        )

    # A group smaller than a screen never yields an event (and the loop below would never end).
    groups = [group for group in by_group.values() if len(group) >= SLATE]
    if not groups:
        raise SystemExit(f"--images {images}: no search key has {SLATE} pictures of one orientation")
    weights = np.random.default_rng(seed).zipf(1.6, len(groups)).astype(float)
    cumulative = np.cumsum(weights / weights.sum()).tolist()
    recommendations: list[dict] = []
    events: list[dict] = []
    n = 0
    while n < interactions:
        at = START + timedelta(seconds=2 * n)
        visitor = visitor_ids[rng.randrange(len(visitor_ids))] if rng.random() < 0.9 else rng.choice(device_ids)
        group = groups[min(int(np.searchsorted(cumulative, rng.random())), len(groups) - 1)]
        served = rng.sample(group, min(SERVED, len(group)))
        parsed = gk.parse_key(served[0])
        attributed = rng.random() < 0.85
        if attributed:
            version = RANKERS[min(int(4 * n / interactions), len(RANKERS) - 1)]
            ranker = "popularity" if rng.random() < 0.1 else version
            recommendations.append(
                {
                    "id": len(recommendations) + 1,
                    "visitor_id": visitor,
                    "search_key": gk.search_key(parsed.emotion, parsed.favorite),
                    "image_ids": json.dumps([ids[key] for key in served]),
                    "ranker": ranker,
                    "created_at": at,
                }
            )
        for screen in range(0, len(served) - SLATE + 1, SLATE):
            if n >= interactions:
                break
            shown = served[screen : screen + SLATE]
            moment = at + timedelta(seconds=2 * (screen // SLATE), microseconds=rng.randrange(10**6))
            row = {
                "visitor_id": visitor,
                "impression": json.dumps(shown),
                "created_at": moment,
                "image_id": None,
                "item_key": "",
                "recommendation_id": len(recommendations) if attributed else None,
            }
            if rng.random() < 0.7:
                liked = rng.choice(shown)
                row.update(event_type="click", image_id=ids[liked], item_key=liked)
                if rng.random() < 0.015 and n + 1 < interactions:
                    events.append(row)
                    n += 1
                    row = {**row, "event_type": "dislike", "impression": "[]", "created_at": moment + timedelta(seconds=1)}
            else:
                row["event_type"] = "impression"
            events.append(row)
            n += 1
    with transaction.atomic():
        _copy_rows(
            Recommendation,
            {"id": None, "visitor_id": None, "search_key": None, "image_ids": None, "ranker": None, "created_at": None},
            recommendations,
        )
        columns = {
            "visitor_id": None,
            "image_id": None,
            "item_key": None,
            "event_type": None,
            "impression": None,
            "created_at": None,
            "recommendation_id": None,
        }
        _copy_rows(Interaction, columns, events)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{_table(Recommendation)}', 'id'), {len(recommendations) + 1})")

    def job_rows():
        for number in range(jobs):
            created = START + span * rng.random()
            started_at = created + timedelta(seconds=rng.expovariate(1 / 90))
            status = rng.choices(("succeeded", "failed", "cancelled"), weights=(90, 7, 3))[0]
            backend, model_id = rng.choice(
                (("diffusers", "stabilityai/sd-turbo"), ("diffusers", "runwayml/sd-1.5"), ("procedural", "procedural-painter-v1"))
            )
            count = rng.randrange(1, 9)
            done = count if status == "succeeded" else rng.randrange(0, count)
            per_image = 0.05 if backend == "procedural" else rng.uniform(1.5, 4.0)
            yield {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "kind": "images",
                "emotion": rng.choice(EMOTIONS),
                "prompt": "a garden",
                "width": 512,
                "height": 512,
                "steps": 25,
                "guidance": 7.5,
                "seed": number,
                "count": count,
                "backend": backend,
                "model_id": model_id,
                "queue": "gpu",
                "timestr": f"bench-{number}",
                "status": status,
                "images_done": done,
                "images_total": count,
                "created_at": created,
                "started_at": started_at,
                "finished_at": started_at + timedelta(seconds=per_image * max(done, 1) + 3),
                "error": "" if status != "failed" else "CUDA out of memory",
                "timings": json.dumps({"load": 3.0, "generate": per_image * done, "store": 0.02 * done, "thumbnails": 0.01 * done}),
            }

    with transaction.atomic():
        given = dict.fromkeys(
            (
                "id",
                "kind",
                "emotion",
                "prompt",
                "width",
                "height",
                "steps",
                "guidance",
                "seed",
                "count",
                "backend",
                "model_id",
                "queue",
                "timestr",
                "status",
                "images_done",
                "images_total",
                "created_at",
                "started_at",
                "finished_at",
                "error",
                "timings",
            )
        )
        _copy_rows(GenerationJob, given, job_rows())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return round(time.perf_counter() - started, 1)


def measure(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm the session, templates, the database's caches
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = [1000 * seconds for seconds in results.repeat(lambda: client.get(url), repeat, warmup=0)]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return {
        "url": url,
        "median_ms": round(results.summary(times)["median"], 1),
        "p90_ms": round(results.percentile(times, 0.9), 1),
        "queries": len(queries),
        "bytes": len(response.content),
    }


def main() -> int:
    made = parser(__doc__)
    made.add_argument("--images", type=int, default=100_000)
    made.add_argument("--interactions", type=int, default=1_000_000)
    made.add_argument("--jobs", type=int, default=2_000)
    made.add_argument("--repeat", type=int, default=15)
    made.add_argument("--reload", action="store_true", help="load the data again")
    made.add_argument("--refresh", action="store_true", help="recompute the rollups from scratch")
    args = made.parse_args()
    started = results.machine()
    if args.smoke:
        global BENCH_URL
        BENCH_URL = smoke.database_url("insights", BENCH_URL + "_smoke", "BENCH_INSIGHTS_DATABASE_URL")
        args.images, args.interactions, args.jobs, args.repeat = 6000, 20_000, 50, 1

    ensure_database(BENCH_URL)
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from garden.models import Image
    from generation.models import GenerationJob
    from insights import services
    from insights.models import ImageRollup, RollupState
    from recommend.models import Interaction, Recommendation

    setup_test_environment()  # the test client's response.context and in-memory email, nothing else
    # No collectstatic here: plain static URLs (as bench/curation.py), the manifest lookup is a dict read.
    # Through override_settings: its signal drops the manifest storage already made at set-up.
    override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    ).enable()
    result: dict = {"database": BENCH_URL.rsplit("@", 1)[-1], "images": args.images, "interactions": args.interactions}
    sizes = (Image.objects.all_pictures().count(), Interaction.objects.count(), GenerationJob.objects.count())
    if args.reload or sizes != (args.images, args.interactions, args.jobs):
        result["load_seconds"] = load(args.images, args.interactions, args.jobs)
    result["recommendations"] = Recommendation.objects.count()
    data_end = Interaction.objects.aggregate(at=Max("created_at"))["at"] + timedelta(hours=1)
    state = RollupState.objects.filter(pk=1).first()
    if args.refresh or state is None or state.computed_until is None:
        if args.refresh:
            RollupState.objects.all().delete()
        first = services.refresh_rollups(now=data_end)
        result["first_refresh"] = {"days": first.days, "seconds": first.seconds}
    # What beat does: at 23:00 of the last full day, that day is recomputed (its every event).
    busy_evening = services.day_start(data_end) - timedelta(hours=1)
    incremental = services.refresh_rollups(now=busy_evening)
    result["beat_refresh_day_events"] = Interaction.objects.filter(
        created_at__gte=services.day_start(busy_evening), created_at__lt=services.day_start(data_end)
    ).count()
    result["beat_refresh"] = {"days": incremental.days, "seconds": incremental.seconds}
    result["image_rollup_rows"] = ImageRollup.objects.count()

    user = get_user_model().objects.filter(username="bench-admin").first() or get_user_model().objects.create_superuser(
        username="bench-admin", password="x"
    )
    client = Client()
    client.force_login(user)
    month = f"start={START.date()}&end={(START + timedelta(days=30)).date()}"
    week = f"start={(START + timedelta(days=9)).date()}&end={(START + timedelta(days=15)).date()}"
    pages = {
        "baseline: admin index": "/admin/",
        "insights, the month": f"/admin/insights/dashboard/?{month}",
        "insights, the month, emotion=happy": f"/admin/insights/dashboard/?{month}&emotion=happy",
        "insights, a week per hour": f"/admin/insights/dashboard/?{week}&by=hour",
        "insights CSV, every search key": f"/admin/insights/dashboard/csv/key-feedback/?{month}",
    }
    result["pages"] = {name: measure(client, url, args.repeat) for name, url in pages.items()}
    base = result["pages"]["baseline: admin index"]["median_ms"]
    print(
        f"database {result['database']}: {args.images:,} images, {args.interactions:,} interactions, {result['recommendations']:,} gardens"
    )
    if "load_seconds" in result:
        print(f"loaded in {result['load_seconds']} s")
    if "first_refresh" in result:
        print(f"first refresh (backfill): {result['first_refresh']['days']} days in {result['first_refresh']['seconds']:.1f} s")
    beat = result["beat_refresh"]
    print(
        f"beat refresh (recent window): {beat['days']} day ({result['beat_refresh_day_events']:,} interactions) in {beat['seconds']:.2f} s"
    )
    print(f"{'page':38} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'bytes':>10} {'x index':>8}")
    for name, row in result["pages"].items():
        ratio = row["median_ms"] / base if base else float("nan")
        print(f"{name:38} {row['median_ms']:>10} {row['p90_ms']:>8} {row['queries']:>8} {row['bytes']:>10,} {ratio:>8.2f}")
    worst = max(row["median_ms"] for name, row in result["pages"].items() if name.startswith("insights,"))
    result["target_met"] = worst < TARGET_MS
    print(f"target (insights page < {TARGET_MS} ms server time): {'met' if result['target_met'] else 'MISSED'} (slowest median {worst} ms)")
    print(results.load_line("at the end"))
    results.write(
        args.json or (None if args.smoke else ROOT / "bench" / "results" / "insights.json"), "insights", vars(args), result, started
    )
    return 0 if result["target_met"] or args.smoke else 1  # a smoke run's figures mean nothing


if __name__ == "__main__":
    sys.exit(main())
