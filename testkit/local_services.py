"""Finding the local Redis that real-worker tests and benchmarks use (CI provides one)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from config.parallel_tests import worker_redis_db


def redis_url() -> str:
    """CELERY_BROKER_URL when it is Redis, else the usual local Redis (a database of this test process's own)."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis://") else f"redis://127.0.0.1:6379/{worker_redis_db(0)}"


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False
