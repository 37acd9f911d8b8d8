#!/usr/bin/env python3
"""A1111 health probe latency: ``GET /sdapi/v1/options`` in a fresh process, the way the retouch
app calls it (no credentials, a trusted address), on the filesystem broker that made the old probe
(a Celery broadcast, 2.0 s) miss the app's 2 s timeout.

    .venv/bin/python bench/a1111_options.py [--requests 50] [--database postgres://…]
    .venv/bin/python bench/a1111_options.py --smoke        # 3 requests: the whole path in seconds

Loads the application as the web server does (``config.wsgi``, which imports the URL conf and
every view), then prints the process's first request, an options request (cold: nothing cached,
no earlier request), and the median and worst of the following ones, each a full Django request (middleware,
authentication, one presence query, JSON). A GPU worker's presence row is written first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database", default="", help="DATABASE_URL (default: a new SQLite file)")
    parser.add_argument("--smoke", action="store_true", help="3 requests: the whole path in seconds (testkit/smoke.py)")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 3
    work = Path(tempfile.mkdtemp(prefix="bench-a1111-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": args.database or f"sqlite:///{work / 'bench.sqlite3'}",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": "filesystem://",
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": "/models/sd15",
            "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1",
            "GARDEN_LOG_LEVEL": "WARNING",
            "DJANGO_ALLOWED_HOSTS": "localhost,testserver",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from generation.dispatch.beacon import record_presence

    call_command("migrate", "--no-input", verbosity=0)
    record_presence(name="gpu@bench", queues=[settings.GARDEN_GPU_QUEUE])
    started = time.perf_counter()
    import config.wsgi  # noqa: F401  # as the web server loads the application (it imports the URL conf and every view)

    start = (time.perf_counter() - started) * 1000
    client = Client(HTTP_HOST="localhost")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        client.get("/sdapi/v1/options")
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        return
    timings = []
    for _ in range(args.requests + 1):
        started = time.perf_counter()
        response = client.get("/sdapi/v1/options")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    cold, warm = timings[0], timings[1:]
    print(f"loading the application as the web server does (config.wsgi: URL conf, every view): {start:.1f} ms")
    print(f"GET /sdapi/v1/options, the process's first request: {cold:.1f} ms; then median {statistics.median(warm):.1f} ms, "
          f"worst {max(warm):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
