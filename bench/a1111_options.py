#!/usr/bin/env python3
"""A1111 health probe latency: ``GET /sdapi/v1/options`` in a fresh process, the way the retouch
app calls it (no credentials, a trusted address), on the filesystem broker that made the old probe
(a Celery broadcast, 2.0 s) miss the app's 2 s timeout.

    .venv/bin/python bench/a1111_options.py [--requests 50] [--database postgres://server/name] [--json out.json]
    .venv/bin/python bench/a1111_options.py --smoke        # 3 requests: the whole path in seconds

Loads the application as the web server does (``config.wsgi``, which imports the URL conf and
every view), then prints the process's first request, an options request (cold: nothing cached,
no earlier request), and the median and worst of the following ones, each a full Django request (middleware,
authentication, one presence query, JSON). A GPU worker's presence row is written first.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here

SETTINGS = {
    "CELERY_BROKER_URL": "filesystem://",
    "GARDEN_GENERATOR_BACKEND": "diffusers",
    "GARDEN_DIFFUSION_MODEL": "/models/sd15",
    "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1",
    "GARDEN_LOG_LEVEL": "WARNING",
    "DJANGO_ALLOWED_HOSTS": "localhost,testserver",
}


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--requests", type=int, default=50)
    made.add_argument("--database", default="sqlite", help="postgres://server/name: a copy of the migrated template made there")
    args = made.parse_args()
    requests = 3 if args.smoke else args.requests
    started = results.machine()
    with here("bench-a1111-", database=args.database, **SETTINGS):
        from django.conf import settings
        from django.test import Client

        from generation.dispatch.beacon import record_presence

        record_presence(name="gpu@bench", queues=[settings.GARDEN_GPU_QUEUE])
        # as the web server loads the application (it imports the URL conf and every view)
        _, start = results.timed(lambda: __import__("config.wsgi"))
        client = Client(HTTP_HOST="localhost")
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx('client.get("/sdapi/v1/options")', globals(), {"client": client}, sort="cumulative")
            return

        def options() -> None:
            response = client.get("/sdapi/v1/options")
            assert response.status_code == 200, response.content

        cold, *warm = results.repeat(options, requests + 1, warmup=0)
    print(f"loading the application as the web server does (config.wsgi: URL conf, every view): {1000 * start:.1f} ms")
    print(f"GET /sdapi/v1/options, the process's first request: {1000 * cold:.1f} ms; then median "
          f"{1000 * statistics.median(warm):.1f} ms, worst {1000 * max(warm):.1f} ms; {results.load_line()}")  # fmt: skip
    figures = {"application_load_s": start, "first_request_s": cold, "then": results.summary(warm)}
    results.write(args.json, "a1111_options", vars(args), figures, started)


if __name__ == "__main__":
    main()
