"""Readiness of the parts a web process needs: database, cache, broker, storage.

``/readyz`` runs every check at once, each in a thread of its own with a deadline
(GARDEN_READY_TIMEOUT), so a hung server makes its part "down" instead of holding the probe. A
check that is still hanging from an earlier probe is not started again: that part stays "down"
until it returns, so polling every few seconds never piles up threads. The answer names each
part, its status and latency only — no addresses, credentials or error texts.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections

from config import caches

PARTS = ("database", "cache", "broker", "storage")


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    ms: float
    required: bool
    detail: str = ""

    def as_dict(self) -> dict:
        body: dict = {"status": "ok" if self.ok else "down", "ms": round(self.ms, 1), "required": self.required}
        if self.detail:
            body["detail"] = self.detail
        return body


def check_database() -> None:
    """One round trip on a connection of this thread's own (closed after: probes hold none)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _ping_redis(url: str) -> None:
    """One PING on a client of the probe's own, with the probe's timeout, closed after."""
    import redis

    timeout = settings.GARDEN_READY_TIMEOUT
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


PROBE = caches.shared(
    owner=__name__,
    name="PROBE",
    prefix="readyz:probe",
    ttl=10,
    kind=caches.PROBE,
    key="one key: written and read back by /readyz (caches other than Redis, which is pinged)",
    fresh="written on each check",
)


def check_cache() -> None:
    """Redis caches are pinged on a client of the probe's own, past any fail-open wrapper the
    app's cache has: readiness must see the outage that the kiosk endpoints ride through."""
    config = settings.CACHES["default"]
    if "redis" in config["BACKEND"].lower():
        location = config["LOCATION"]
        _ping_redis(location[0] if isinstance(location, list | tuple) else str(location).split(",")[0])
        return
    key = PROBE.key("")
    PROBE.set(key, 1)
    if PROBE.get(key) != 1:
        raise RuntimeError("cache lost a value it was given")


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        _ping_redis(url)
        return
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            raise RuntimeError("broker folder not writable")
        return
    from kombu import Connection

    with Connection(url, connect_timeout=settings.GARDEN_READY_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1)


def check_storage() -> None:
    """S3: the bucket answers (HEAD); local files: the media folder exists (or can be made) and is writable."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:
        bucket.meta.client.head_bucket(Bucket=bucket.name)
        return
    location = getattr(default_storage, "location", settings.MEDIA_ROOT)
    os.makedirs(location, exist_ok=True)  # a fresh volume has none until the first image; storing makes it too
    if not os.access(location, os.W_OK):
        raise RuntimeError("media folder read-only")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
}

_pool = ThreadPoolExecutor(max_workers=len(PARTS) * 2, thread_name_prefix="readyz")
_hanging: set[str] = set()
_hanging_lock = threading.Lock()


def _timed(name: str, check: Callable[[], None]) -> tuple[bool, float, str]:
    started = time.perf_counter()
    try:
        check()
        return True, (time.perf_counter() - started) * 1000, ""
    except Exception:  # any failure means "down"; the answer names no internals
        return False, (time.perf_counter() - started) * 1000, "unreachable"
    finally:
        with _hanging_lock:
            _hanging.discard(name)


def required_parts() -> set[str]:
    return {part.strip() for part in settings.GARDEN_READY_REQUIRED if part.strip()}


def readiness(checks: dict[str, Callable[[], None]] | None = None) -> list[PartStatus]:
    """Every part's status, checked in parallel within GARDEN_READY_TIMEOUT seconds."""
    checks = checks or CHECKS
    required = required_parts()
    timeout = settings.GARDEN_READY_TIMEOUT
    futures = {}
    results: list[PartStatus] = []
    for name, check in checks.items():
        with _hanging_lock:
            if name in _hanging:  # an earlier probe's check of it has not returned yet
                results.append(PartStatus(name, False, timeout * 1000, name in required, "timed out"))
                continue
            _hanging.add(name)
        futures[name] = _pool.submit(_timed, name, check)
    deadline = time.monotonic() + timeout
    for name, future in futures.items():
        try:
            ok, ms, detail = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            ok, ms, detail = False, timeout * 1000, "timed out"
        results.append(PartStatus(name, ok, ms, name in required, detail))
    order = {name: index for index, name in enumerate(checks)}
    return sorted(results, key=lambda part: order[part.name])


def readiness_body(parts: list[PartStatus]) -> tuple[dict, bool]:
    """The /readyz body and whether every required part is up."""
    ready = all(part.ok for part in parts if part.required)
    return {"status": "ok" if ready else "unavailable", "checks": {part.name: part.as_dict() for part in parts}}, ready
