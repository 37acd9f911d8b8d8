"""What a request does when a backend it leans on is down.

- **Database**: any request that hits a database error (Django's OperationalError/InterfaceError,
  or the driver's own when one escapes Django's wrapper) answers a JSON 503 with ``Retry-After``,
  never a 500 page. API views get it from ``config.api.exception_handler`` (the one place errors
  become HTTP answers, as ``config.errors.DatabaseUnavailable``); every other view from
  ``DatabaseOutageMiddleware``. The connection is marked as having failed, so Django's
  ``close_old_connections`` at the end of the request tests it and drops it when broken: the next
  request connects afresh, with nothing restarted.
- **After a commit**: work that follows a committed write (change tokens, mirrors to other
  services) runs through ``after_commit``, which logs and counts a failure instead of raising it:
  the row is stored, so the request must not answer 5xx (a client retrying it would store it twice).
- The cache's outages are config.caches.breaker's.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections, transaction
from django.http import JsonResponse
from prometheus_client import Counter

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = Counter(
    "garden_database_unavailable_total", "Requests answered 503 because the database failed under them", ["where"]
)
AFTER_COMMIT_FAILURES = Counter(
    "garden_after_commit_failures_total", "Work after a committed write that failed (the write stands)", ["work"]
)


class LogEvery:
    """Log at most once per ``seconds`` per subject: an outage is one message a minute, not one per request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, subject: str) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(subject)
            if last is not None and now - last < self.seconds:
                return False
            self._last[subject] = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._last.clear()


_log_every = LogEvery(60.0)


# --- Database -------------------------------------------------------------------------------------


def is_database_outage(exc: BaseException) -> bool:
    """A failure of the database or of the connection to it (not a bad query or a constraint)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # A driver error Django did not wrap (e.g. a psycopg cursor opened on a connection the server
    # closed): the backend's own DB-API classes.
    for conn in connections.all(initialized_only=True):
        driver = getattr(conn, "Database", None)  # the backend's DB-API module (sqlite3, psycopg)
        if driver is not None and isinstance(exc, driver.OperationalError | driver.InterfaceError):
            return True
    return False


def database_unavailable(exc: BaseException, *, where: str) -> None:
    """Count and log (once a minute) a database outage, and mark every open connection as having
    failed: ``close_old_connections`` at the request's end then tests each one and closes it when
    it is broken, so the next request reconnects (Django marks the errors it wraps itself)."""
    DATABASE_UNAVAILABLE.labels(where).inc()
    for conn in connections.all(initialized_only=True):
        conn.errors_occurred = True
    if _log_every.due("database"):
        log.error("database unavailable (%s: %s); answering 503 until it is back", type(exc).__name__, exc, exc_info=exc)
    else:
        log.warning("database unavailable (%s: %s)", type(exc).__name__, exc)


def database_unavailable_response() -> JsonResponse:
    from config.errors import DatabaseUnavailable

    error = DatabaseUnavailable()
    response = JsonResponse(error.as_body(), status=error.status_code)
    response["Retry-After"] = str(error.retry_after)
    return response


_FAILED_ATTR = "_garden_database_outage"


def _remember_outage(sender, request=None, **kwargs) -> None:
    """Django sends this from inside its except block: note a database error on the request."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and is_database_outage(exc):
        setattr(request, _FAILED_ATTR, exc)


class DatabaseOutageMiddleware:
    """The JSON 503 of a database outage for views outside DRF (pages, the share page, the admin).

    ``process_exception`` covers the view and its template; an error in a middleware's own step
    (a session saved on the way out) has already become Django's 500 by the time it gets here,
    so a 500 whose request carries a database error is replaced too. It sits inside the security
    and CSP middleware, so the 503 gets their headers.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        got_request_exception.connect(_remember_outage, dispatch_uid="config.outages.remember_outage")

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, _FAILED_ATTR, None)
        if response.status_code == 500 and exc is not None:
            database_unavailable(exc, where="middleware")
            return database_unavailable_response()
        return response

    def process_exception(self, request, exception):
        if not is_database_outage(exception):
            return None
        database_unavailable(exception, where="view")
        return database_unavailable_response()


# --- After a commit -------------------------------------------------------------------------------


def after_commit(work: Callable[[], object], *, name: str) -> None:
    """Run ``work`` once the current transaction commits (at once outside a transaction).

    A failure is logged (once a minute with its traceback) and counted in
    ``garden_after_commit_failures_total{work=name}``, never raised: what it follows is committed.
    """

    def guarded() -> None:
        try:
            work()
        except Exception as exc:  # the write stands: this must not turn it into a 5xx
            AFTER_COMMIT_FAILURES.labels(name).inc()
            if _log_every.due(f"after-commit:{name}"):
                log.warning("%s failed after the commit; the committed write stands", name, exc_info=exc)

    transaction.on_commit(guarded)
