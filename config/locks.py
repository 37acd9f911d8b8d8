"""One holder at a time across processes: a PostgreSQL advisory lock, or the cache on SQLite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

from config import caches

# The cache keys its callers name (generation:sweep, recommend:rebuild-lock, insights:refresh-lock).
LOCKS = caches.shared(
    owner=__name__,
    name="LOCKS",
    prefix="",
    ttl=None,
    kind=caches.LOCK,
    key="the key each caller names (off PostgreSQL only: there an advisory lock)",
    fresh="deleted by its holder; expires after the caller's timeout if the holder died",
)


@contextlib.contextmanager
def exclusive(*, advisory_id: int, cache_key: str, timeout: int, busy: type[Exception], message: str) -> Iterator[None]:
    """Hold the lock for the block, or raise ``busy(message)`` at once if another process holds it.

    On PostgreSQL the session-level advisory lock ``advisory_id`` (released when the connection
    closes too); elsewhere ``cache.add(cache_key)``, which expires after ``timeout`` seconds in
    case its holder died.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [advisory_id])
            if not cursor.fetchone()[0]:
                raise busy(message)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [advisory_id])
        return
    if not LOCKS.add(cache_key, "1", timeout):
        raise busy(message)
    try:
        yield
    finally:
        LOCKS.delete(cache_key)
