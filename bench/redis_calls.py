#!/usr/bin/env python3
"""What one kiosk throttle call costs the web process, by the way it is sent, against a bare
``INCR`` and ``GET`` in the same run; and Django's request-finished ``close_old_connections``.

    taskset -c 0 .venv/bin/python bench/redis_calls.py [--calls 20000] [--redis redis://127.0.0.1:6379/12]
    .venv/bin/python bench/redis_calls.py --smoke          # 200 calls each, on CACHE_URL's Redis when it is Redis

Prints CPU microseconds per call of this process (``time.process_time``: the web worker's share,
not Redis's) for: the throttle's pipeline (``INCR`` + ``EXPIRE NX``, config.api.count_request),
the same as one Lua script (``EVALSHA``), a bare ``INCR`` and a ``GET``; each twice, alternated.
Then ``close_old_connections`` after a query, in a thread as in a gunicorn worker, on the
configured database (DATABASE_URL). It answered whether the throttle is worth rewriting as a
script (docs/recommendation.md, "Smaller measurements") and whether py-spy's share for
``close_old_connections`` is the call's own work.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMOKE_NEEDS = ("redis",)  # tests/bench/test_smoke.py
SCRIPT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"


def per_call_us(function, calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a Redis database this bench may write to")
    parser.add_argument(
        "--smoke", action="store_true", help="200 calls each: the whole path in seconds (CACHE_URL's Redis when it is Redis)"
    )
    args = parser.parse_args()
    if args.smoke:
        from testkit import smoke

        args.calls, args.redis = 200, smoke.cache_url(args.redis, "")

    client = redis.Redis.from_url(args.redis)
    key = "bench:throttle:127.0.0.1"
    script = client.register_script(SCRIPT)

    def pipeline():
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 60, nx=True)
        return pipe.execute()[0]

    ways = {
        "pipeline": pipeline,
        "script": lambda: script(keys=[key], args=[60]),
        "incr": lambda: client.incr(key),
        "get": lambda: client.get(key),
    }
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(2):
        for name, way in ways.items():
            results[name].append(per_call_us(way, args.calls))
    client.delete(key)
    for name, figures in results.items():
        print(f"{name:<10}" + "  ".join(f"{us:6.1f} µs" for us in figures))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import close_old_connections, connection

    def in_worker_thread():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        print(f"close_old_connections {per_call_us(close_old_connections, args.calls):.1f} µs ({connection.vendor})")

    thread = threading.Thread(target=in_worker_thread)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
