"""Every cost as the garden grows: gardens of N images with ten events per image, on PostgreSQL.

    .venv/bin/python bench/growth.py --images 20000 100000          # one row per size, growth per 4x
    .venv/bin/python bench/growth.py --images 20000 --requests 100
    .venv/bin/python bench/growth.py --rebuilds 3                     # the rebuilds only, on the data loaded
    .venv/bin/python bench/growth.py --requests-only                  # the per-request rows only, on the data loaded
    .venv/bin/python bench/growth.py --requests-only --stages         # and where a /garden first answer's time goes
    .venv/bin/python bench/growth.py --smoke                          # 1,000 and 4,000 images, 10 requests: seconds

Per size: a full recount and an incremental rebuild that adds 10,000 events (each timed in a child
process, whose peak resident memory, VmHWM, is the rebuild's and Django's), /garden, /gardenfromDB and
/like p50/p99 in process, the insights page, forget_visitor of one visitor, `manage.py backup`,
and a retention sweep that deletes the oldest 10,000 events. /garden and /gardenfromDB are timed
twice: as the first answers after a serving change (most of their search keys new to the process,
so their candidates are loaded and rendered), and once every search key has been answered (the
steady state bench/serving.py measures); ``--stages`` (and ``--smoke``) adds the p50 of each stage of
a first answer (bench/_first_answer.py). Each cost's growth factor per 4x data
is printed beside it. Uses its own database, ``bench_scale`` on 127.0.0.1 (BENCH_DATABASE_URL);
the data is reloaded for every size. Results: bench/results/growth.json. ``--rebuilds N`` loads
nothing: on the garden ``bench_scale`` holds, a full recount then N incremental rebuilds, each
adding 10,000 events (loading 100k images takes minutes; their rebuilds, seconds). ``--smoke``:
1,000 and 4,000 images, 1,000 new events, 10 requests, on ``bench_scale_smoke`` (or beside
DATABASE_URL when that is PostgreSQL: testkit/smoke.py); no results file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._data import ensure_database, load, search_keys  # noqa: E402 (after the path is set)
from testkit import smoke  # noqa: E402

SMOKE_NEEDS = ("postgresql",)  # tests/bench/test_smoke.py

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scale")
NEW_EVENTS = 10_000

CHILD = """
import os, resource, sys, time, json
sys.path.insert(0, {root!r})
os.environ["DATABASE_URL"] = {url!r}
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from recommend import training


def status(field):
    # VmHWM is this process image's own peak: ru_maxrss would include the forking parent's (the
    # loader's hundreds of MB), as Linux carries it across exec.
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


before_mb = status("VmRSS")
started = time.perf_counter()
version = training.rebuild(with_als=False, full={full})
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "peak_mb": status("VmHWM"), "django_mb": before_mb, "metrics": version.metrics}}))
"""


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["GARDEN_KIOSK_RATE"] = "100000000/minute"  # measure the work, not the throttle
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("GARDEN_PUBLIC_BASE_URL", "https://cdn.example.org")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # No collectstatic here: the admin's pages name their static files without the manifest.
    from django.test import override_settings

    override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    ).enable()
    call_command("migrate", verbosity=0)


def child_rebuild(*, full: bool) -> dict:
    """A rebuild in a fresh process: its peak memory is the rebuild's and Django's (``django_mb``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "CELERY_BROKER_URL")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), url=BENCH_URL, full=full)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(fn, repeat: int = 1) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return float(np.median(samples))


def latency(client, path: str, bodies: list[dict]) -> dict:
    for body in bodies[:20]:  # warm connections, caches and the loaded model
        client.post(path, data=json.dumps(body), content_type="application/json")
    samples = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post(path, data=json.dumps(body), content_type="application/json")
        samples.append(time.perf_counter() - started)
        assert response.status_code in (200, 201), (path, response.status_code, response.content[:200])
    values = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2)}


def check_serves_loaded_garden(client) -> None:
    """/garden answers from the garden loaded now, not from candidate sets this process kept from
    an earlier size (bench/_data.load gives each garden a new serving version): an emotion's
    answer holds as many images of each orientation as its candidates in the garden, up to the
    answer's size."""
    from django.conf import settings

    from garden.selectors import serving_images

    emotion = search_keys()[0][0]
    answer = json.loads(client.post("/garden", data=json.dumps({"emotion": emotion}), content_type="application/json").content)
    orientations = list(serving_images(search_key=emotion).values_list("orientation", flat=True)[: settings.RECOMMEND_CANDIDATES])
    expected = [min(orientations.count(side), settings.RECOMMEND_MAX_RESULTS) for side in ("h", "v")]
    served = [len(answer["landscape"]), len(answer["portrait"])]
    assert served == expected, f"/garden served {served} (landscape, portrait) of {emotion!r}, its candidates {expected}"


def add_events(n: int) -> None:
    """``n`` new events: copies of the latest ones, with new ids and times (as if the hall went on)."""
    from django.db import connection

    from recommend.models import Interaction

    table = Interaction._meta.db_table
    columns = "visitor_id, image_id, item_key, event_type, impression, unknown_keys, segment, created_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT visitor_id, image_id, item_key, event_type, impression, unknown_keys, segment, "
            f"created_at + interval '30 days' FROM {table} ORDER BY id DESC LIMIT %s",
            [n],
        )


def measure(images: int, requests: int, *, per_image: int = 10, rebuilds_only: bool = False, stages: bool = False) -> dict:

    result: dict = {"images": images, "events": images * per_image}
    loaded = load(images, images * per_image)
    result["load_s"] = loaded["load_seconds"]
    full = child_rebuild(full=True)
    result["rebuild_full_s"], result["rebuild_full_peak_mb"] = round(full["seconds"], 2), round(full["peak_mb"])
    result["django_mb"] = round(full["django_mb"])
    add_events(NEW_EVENTS)
    incremental = child_rebuild(full=False)
    assert incremental["metrics"]["full_recount"] is False, incremental
    result["rebuild_10k_new_s"], result["rebuild_10k_new_peak_mb"] = round(incremental["seconds"], 2), round(incremental["peak_mb"])
    if rebuilds_only:
        return result
    return result | per_request(requests, stages=stages)


def per_request(requests: int, *, stages: bool = False) -> dict:
    """The request paths, the insights page, forget_visitor, backup and a retention sweep, on the
    garden loaded (which the last two change: each deletes events). ``stages``: also where a
    /garden first answer's time goes (bench/_first_answer.py)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from recommend import retention
    from recommend.models import Interaction

    result: dict = {}
    rng = random.Random(3)
    # Visitors with events (the loader's list spells ids differently from the stored ones).
    visitors = list(Interaction.objects.values_list("visitor_id", flat=True).distinct()[:2000])
    keys = search_keys()
    bodies = []
    for _ in range(requests):
        emotion, favorite = rng.choice(keys)
        bodies.append({"id": rng.choice(visitors), "emotion": f"{emotion}/{favorite}" if favorite else emotion, "generation": "adult"})
    client = Client()
    check_serves_loaded_garden(client)
    # First answers after a serving change: most of the 200 search keys are new to this process,
    # so most requests load and render their candidates (~500 rows at 400k images).
    result["garden"] = latency(client, "/garden", bodies)
    result["gardenfromDB"] = latency(client, "/gardenfromDB", bodies)
    # Steady state, as bench/serving.py measures it: every search key answered once in this process
    # (candidates and rendered answers built), then other visitors and keys (their segments'
    # counters mostly read anew, as after other kiosks' likes).
    for emotion, favorite in keys:
        primer = json.dumps({"emotion": f"{emotion}/{favorite}" if favorite else emotion})
        for path in ("/garden", "/gardenfromDB"):
            client.post(path, data=primer, content_type="application/json")
    steady = []
    for _ in range(requests):
        emotion, favorite = rng.choice(keys)
        steady.append({"id": rng.choice(visitors), "emotion": f"{emotion}/{favorite}" if favorite else emotion, "generation": "adult"})
    result["garden_steady"] = latency(client, "/garden", steady)
    result["gardenfromDB_steady"] = latency(client, "/gardenfromDB", steady)
    shown = list(Interaction.objects.filter(event_type="click").order_by("-id").values_list("item_key", flat=True)[:requests])
    likes = [{"id": rng.choice(visitors), "itemId": key, "impression": [key]} for key in shown]
    result["like"] = latency(client, "/like", likes)
    if stages:  # last of the request paths: it empties the serving cache before each request
        from bench import _first_answer

        result["garden_first_answer_stages_ms"] = _first_answer.stages(client, bodies)

    users = get_user_model().objects
    admin = users.filter(username="bench").first() or users.create_superuser("bench", "b@example.org", "x")
    client.force_login(admin)
    client.get("/admin/insights/dashboard/")  # warm
    result["insights_page_s"] = round(timed(lambda: client.get("/admin/insights/dashboard/"), 3), 3)

    victim = visitors[0]
    result["forget_visitor_ms"] = round(timed(lambda: retention.forget_visitor(visitor_id=victim)) * 1000, 1)
    with tempfile.TemporaryDirectory() as folder:
        try:
            result["backup_s"] = round(timed(lambda: call_command("backup", str(Path(folder) / "garden.tar"), verbosity=0)), 2)
        except Exception as error:  # reported, not hidden: the row says why
            result["backup_s"] = f"failed: {type(error).__name__}: {error}"[:120]
    oldest = Interaction.objects.order_by("id").values_list("created_at", flat=True)[NEW_EVENTS]
    from django.test import override_settings

    with override_settings(GARDEN_RETAIN_EVENT_DAYS=365, GARDEN_RETAIN_VISITOR_DAYS=0, GARDEN_RETAIN_RECOMMENDATION_DAYS=0):
        started = time.perf_counter()
        deleted = retention.apply_retention(now=oldest + timedelta(days=365))
        result["retention_sweep_s"] = round(time.perf_counter() - started, 2)
    result["retention_deleted_events"] = deleted.events
    return result


ROWS = [
    ("full rebuild, s", "rebuild_full_s"),
    ("full rebuild peak memory, MB", "rebuild_full_peak_mb"),
    ("of which Django before the rebuild, MB", "django_mb"),
    ("rebuild adding 10k events, s", "rebuild_10k_new_s"),
    ("that rebuild's peak memory, MB", "rebuild_10k_new_peak_mb"),
    ("/garden p50 / p99, ms", "garden"),
    ("/gardenfromDB p50 / p99, ms", "gardenfromDB"),
    ("/garden, every key answered before, p50 / p99, ms", "garden_steady"),
    ("/gardenfromDB, every key answered before, p50 / p99, ms", "gardenfromDB_steady"),
    ("/like p50 / p99, ms", "like"),
    ("insights page, s", "insights_page_s"),
    ("forget_visitor, ms", "forget_visitor_ms"),
    ("backup, s", "backup_s"),
    ("retention sweep (10k events), s", "retention_sweep_s"),
]


def table(results: list[dict]) -> str:
    def cell(value):
        return f"{value['p50_ms']} / {value['p99_ms']}" if isinstance(value, dict) else str(value)

    def number(value):
        return value["p50_ms"] if isinstance(value, dict) else value

    header = ["cost"] + [f"{r['images'] // 1000}k images, {r['events'] / 1e6:g}M events" for r in results] + ["growth per 4x data"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, key in ROWS:
        values = [r.get(key) for r in results]
        if all(value is None for value in values):  # not measured (--only-rebuild-costs)
            continue
        growth = "–"
        numbers = [number(v) for v in values]
        if len(results) > 1 and all(isinstance(v, int | float) and v for v in numbers):
            # Per 4x data from the first to the last size: (last / first) ** (1 / log4(size ratio)).
            span = np.log(results[-1]["images"] / results[0]["images"]) / np.log(4)
            growth = f"{(numbers[-1] / numbers[0]) ** (1 / span):.2f}x"
        lines.append("| " + " | ".join([label, *(cell(v) for v in values), growth]) + " |")
    return "\n".join(lines)


def rebuilds_only(count: int) -> dict:
    """A full recount, then ``count`` rebuilds each adding NEW_EVENTS, on the data already loaded."""
    from garden.models import Image
    from recommend.models import Interaction

    result: dict = {"images": Image.objects.all_pictures().count(), "events": Interaction.objects.count()}
    if not result["images"]:
        raise SystemExit(f"no garden in {BENCH_URL}: run with --images first")
    full = child_rebuild(full=True)
    result["rebuild_full_s"], result["rebuild_full_peak_mb"] = round(full["seconds"], 2), round(full["peak_mb"])
    result["django_mb"] = round(full["django_mb"])
    runs = []
    for _ in range(count):
        add_events(NEW_EVENTS)
        runs.append(child_rebuild(full=False))
        assert runs[-1]["metrics"]["full_recount"] is False, runs[-1]
    result["rebuild_10k_new_s_each"] = [round(run["seconds"], 2) for run in runs]
    result["rebuild_10k_new_s"] = round(float(np.median(result["rebuild_10k_new_s_each"])), 2)
    result["rebuild_10k_new_peak_mb"] = round(max(run["peak_mb"] for run in runs))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[20_000, 100_000, 400_000])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--events-per-image", type=int, default=10, help="events loaded per image (40: 16M events on 400k images)")
    parser.add_argument("--only-rebuild-costs", action="store_true", help="after each load, only the two rebuilds")
    parser.add_argument("--requests-only", action="store_true", help="only the per-request rows, on the data loaded")
    parser.add_argument("--rebuilds", type=int, default=0, help="only the rebuilds (this many incremental ones), on the data loaded")
    parser.add_argument("--stages", action="store_true", help="with --requests-only: where a /garden first answer's time goes")
    parser.add_argument("--smoke", action="store_true", help="1,000 and 4,000 images, 10 requests: the whole path in seconds")
    args = parser.parse_args()
    if args.smoke:
        global BENCH_URL, NEW_EVENTS
        BENCH_URL = smoke.database_url("growth", BENCH_URL + "_smoke", "BENCH_DATABASE_URL")
        NEW_EVENTS, args.images, args.requests = 1000, [1000, 4000], 10
    ensure_database(BENCH_URL)
    setup_django()
    if args.rebuilds:
        print(json.dumps(rebuilds_only(args.rebuilds)))
        return
    if args.requests_only:
        from garden.models import Image
        from recommend.models import Interaction

        found = {"images": Image.objects.all_pictures().count(), "events": Interaction.objects.count()}
        found |= per_request(args.requests, stages=args.stages)
        print(json.dumps(found))
        return
    results = []
    for images in args.images:
        results.append(
            measure(
                images,
                args.requests,
                per_image=args.events_per_image,
                rebuilds_only=args.only_rebuild_costs,
                stages=args.stages or args.smoke,
            )
        )
        print(json.dumps(results[-1]), flush=True)
    print(table(results))
    if args.smoke:
        return
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "growth.json").write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2))


if __name__ == "__main__":
    main()
