"""Where one /garden request's CPU goes, phase by phase, in one process: no sampler to misplace it.

    taskset -c 0 .venv/bin/python bench/garden_phases.py                  # 4,000 requests after 1,000
    taskset -c 0 .venv/bin/python bench/garden_phases.py --requests 8000 --endpoint floor
    .venv/bin/python bench/garden_phases.py --smoke        # 3,000 images, 20 requests: the whole path in seconds

py-spy under load (bench/serving.py --profile) put shares in functions that a direct timing shows
to be cheap (close_old_connections, URL resolving): it samples threads while they wait to re-take
the GIL. This script instead sends requests through Django's test client (the whole middleware
stack, the throttle, the view) on the bench's database and Redis, and wraps the phases of
/garden's path with timers of the process's CPU time (``time.process_time``). It prints the CPU
ms per request of the whole request and of each phase, and how often each phase ran (a phase
that ran fewer times than there were requests was skipped by a kept entry). Phases nest
(``CountingRanker.rank`` holds ``base_order`` and ``arrange``); the timers cost about a
microsecond a call.

It uses the shared PostgreSQL's ``garden_bench_serving`` database (BENCH_SERVING_DATABASE_URL) and
Redis database 10 (BENCH_SERVING_CACHE_URL), loaded as bench/serving.py loads them (100k images,
300k interactions; reused when the sizes match), and the same request bodies: a random search key
and visitor per request, so most (search key, segment) entries are built by the request that
first needs them, as in bench/serving.py's measured runs. Results: printed only. --smoke: 3,000
images on ``garden_bench_serving_smoke`` (or beside DATABASE_URL when that is PostgreSQL, and on
CACHE_URL's Redis when that is Redis: testkit/smoke.py), 20 requests after 5.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import BENCH_URL, CACHE_URL  # noqa: E402
from testkit import smoke  # noqa: E402

SMOKE_NEEDS = ("postgresql", "redis")  # tests/bench/test_smoke.py

PHASES = {
    "config.api": ["KioskRateThrottle.allow_request"],
    "recommend.views": ["validated"],
    "recommend.services": ["serve_garden", "Garden.render"],
    "recommend.serving": ["ServingCache.candidates", "ServingCache.base_order", "ServingCache._thompson"],
    "recommend.selectors": ["garden_context", "read_counts"],
    "recommend.rankers": ["CountingRanker.rank"],
    "recommend.tokens": ["current"],
    "recommend.precomputed": ["arrange", "Thompson._odds_for"],
    "recommend.ranking": ["with_exploration_slots", "beta_sf", "score"],
    "recommend.eventlog": ["write_recommendation"],
}


def timed(spent: collections.Counter, calls: collections.Counter) -> None:
    """Wrap each phase with a CPU timer (module functions and class methods alike)."""
    import importlib

    for module_name, names in PHASES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:  # an older checkout, measured for comparison
            continue
        for name in names:
            owner, _, attribute = name.rpartition(".")
            holder = getattr(module, owner) if owner else module
            plain = getattr(holder, attribute, None)
            if plain is None:  # an older checkout, measured for comparison
                continue

            def wrapper(*args, _plain=plain, _name=name, **kwargs):
                calls[_name] += 1
                started = time.process_time()
                try:
                    return _plain(*args, **kwargs)
                finally:
                    spent[_name] += time.process_time() - started

            setattr(holder, attribute, wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--warm-up", type=int, default=1000)
    parser.add_argument("--endpoint", choices=["garden", "floor"], default="garden", help="floor: the trivial DRF view")
    parser.add_argument("--smoke", action="store_true", help="3,000 images, 20 requests: the whole path in seconds")
    args = parser.parse_args()
    database, cache, images, interactions, resolves = BENCH_URL, CACHE_URL, 100_000, 300_000, 20_000
    if args.smoke:
        database = smoke.database_url("garden_phases", BENCH_URL + "_smoke", "BENCH_SERVING_DATABASE_URL")
        cache = smoke.cache_url(CACHE_URL, "BENCH_SERVING_CACHE_URL")
        images, interactions, resolves, args.requests, args.warm_up = 3000, 6000, 200, 20, 5
    os.environ.update(DATABASE_URL=database, CACHE_URL=cache, GARDEN_LOG_LEVEL="WARNING", DJANGO_ALLOWED_HOSTS="testserver")
    os.environ["GARDEN_KIOSK_RATE"] = "100000000/minute"  # every request is counted, none refused
    from bench._data import ensure_database, load, search_keys

    ensure_database(database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench._serving_settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from bench.serving import bodies_for
    from garden.models import Image
    from recommend import training
    from recommend.models import Interaction

    call_command("migrate", verbosity=0)
    if Image.objects.all_pictures().count() != images or Interaction.objects.count() < interactions:
        load(images, interactions)
    training.rebuild(with_als=False)
    visitors = [str(v) for v in Interaction.objects.values_list("visitor_id", flat=True).distinct()[:2000]]
    bodies = bodies_for(args.endpoint, rng=random.Random(5), visitors=visitors)
    path = "/garden" if args.endpoint == "garden" else "/bench/floor"
    client = Client()
    for emotion, favorite in search_keys():  # the candidate sets, as bench/serving.py primes them
        client.post("/garden", json.dumps({"emotion": f"{emotion}/{favorite}" if favorite else emotion}), content_type="application/json")

    spent: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    timed(spent, calls)

    def send(count: int) -> float:
        started = time.process_time()
        for n in range(count):
            answer = client.post(path, bodies[n % len(bodies)], content_type="application/json")
            assert answer.status_code == 200, answer.content[:200]
        return (time.process_time() - started) * 1000 / count

    send(args.warm_up)
    spent.clear()
    calls.clear()
    total = send(args.requests)
    print(f"{path}: {total:.3f} CPU ms per request over {args.requests} requests (after {args.warm_up})")
    for name, seconds in spent.most_common():
        print(f"  {name:<36}{seconds * 1000 / args.requests:>8.3f} ms   {calls[name]:>7} calls")
    from django.urls import resolve  # URL resolving, which py-spy put at 11 % of /garden's samples

    for url in ("/bench/floor", "/garden"):
        started = time.process_time()
        for _ in range(resolves):
            resolve(url)
        print(f"resolve({url!r}): {(time.process_time() - started) * 1e6 / resolves:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
