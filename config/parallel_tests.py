"""Tests run in parallel processes (pytest-xdist: `make test` uses one per core) must not share Redis databases.

Every test clears the cache, and real-worker tests queue jobs: with one Redis database shared, one
process's cache.clear() or queued job would reach the other's tests. Each process (PYTEST_XDIST_WORKER =
gw0, gw1, …) moves the databases it was given up by two per process (gw0: 0 → 2, 1 → 3; gw1: 0 → 4 …).
Set before the settings read the URLs, in os.environ, so the servers and workers a test starts inherit it.
"""

from __future__ import annotations

import os
import re

_DB = re.compile(r"^(redis://[^/]*)(?:/(\d+))?$")


def worker_redis_db(db: int, worker: str | None = None) -> int:
    worker = worker if worker is not None else os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return db
    return db + 2 * (int(worker.removeprefix("gw")) + 1)


def separate_redis_databases(environ=os.environ) -> None:
    # Once per process tree: a server or worker a test starts inherits the moved URLs and the mark.
    if environ.get("GARDEN_TEST_REDIS_SEPARATED"):
        return
    environ["GARDEN_TEST_REDIS_SEPARATED"] = "1"
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        match = _DB.match(environ.get(name, ""))
        if match:
            environ[name] = f"{match[1]}/{worker_redis_db(int(match[2] or 0), environ.get('PYTEST_XDIST_WORKER', ''))}"
