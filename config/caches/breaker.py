"""The shared cache (Redis) as a speed-up only: while it is down requests get slower, never errors.

Everything kept there can be rebuilt from the database: rendered /gardenfromDB answers, throttle
counters, cached admin choices. So a failed call answers
as a miss (``get`` → default, ``set``/``add`` → nothing stored), and a circuit breaker per Redis
server and process keeps requests from each waiting on a dead server:

- a call that fails to reach Redis (refused, or no answer within GARDEN_CACHE_TIMEOUT_SECONDS)
  is counted in ``garden_cache_failures_total{operation}`` and opens the breaker;
- while it is open (GARDEN_CACHE_BREAKER_SECONDS) calls skip Redis without touching the network
  (``garden_cache_skipped_total{operation}``);
- then one call tries again: an answer closes the breaker (and runs the ``on_recovery`` hooks), a
  failure opens it for another interval. The outage is logged when it starts, at most once a minute
  while it lasts, and when it ends.

Every ``django.core.cache`` call goes through it without knowing: settings make ``BreakerClient``
the CLIENT_CLASS of any django-redis cache and turn on django-redis's IGNORE_EXCEPTIONS (which turns
the client's ConnectionInterrupted into a miss). Raw Redis commands (the kiosk throttle's pipeline),
which IGNORE_EXCEPTIONS does not cover, go through ``redis_call``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.outages import LogEvery

log = logging.getLogger(__name__)
T = TypeVar("T")

FAILURES = Counter("garden_cache_failures_total", "Cache calls that failed (answered as a miss)", ["operation"])
SKIPPED = Counter("garden_cache_skipped_total", "Cache calls skipped while the breaker was open (answered as a miss)", ["operation"])

# Errors that mean the server is unreachable or not answering: they open the breaker. Other Redis
# errors (an error reply to one command) still answer as a miss but say nothing about the server.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

_recovery_hooks: list[Callable[[], object]] = []
_log_every = LogEvery(60.0)


class CacheSkipped(Exception):
    """The breaker is open: the call was not sent."""


class Breaker:
    """Closed (calls go through), open (calls are skipped) until a deadline, then one probe."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._open_until = 0.0  # time.monotonic() deadline; 0: closed
        self._opened_at = 0.0
        self._probing = False

    @property
    def closed(self) -> bool:
        return not self._open_until

    def allow(self) -> bool:
        """Whether this call may use the server: always when closed; once open, one call (the
        probe) after the interval while the others keep skipping."""
        if not self._open_until:  # the common case, without the lock
            return True
        with self._lock:
            if not self._open_until:
                return True
            if self._probing or time.monotonic() < self._open_until:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        if not self._open_until:
            return
        with self._lock:
            if not self._open_until:
                return
            down = time.monotonic() - self._opened_at
            self._open_until, self._probing = 0.0, False
        log.warning("cache %s answers again after %.1f s; using it again", self.name, down)
        for hook in list(_recovery_hooks):
            try:
                hook()
            except Exception:  # a hook's failure must not fail the request that probed
                log.exception("cache recovery hook %r failed", hook)

    def failed(self, operation: str, error: BaseException) -> None:
        FAILURES.labels(operation).inc()
        if not isinstance(error, OUTAGE_ERRORS):
            if _log_every.due(f"{self.name}:{type(error).__name__}"):
                log.warning("cache %s refused %s (%s: %s); answered as a miss", self.name, operation, type(error).__name__, error)
            return
        now = time.monotonic()
        with self._lock:
            opening = not self._open_until
            if opening:
                self._opened_at = now
            self._open_until = now + settings.GARDEN_CACHE_BREAKER_SECONDS
            self._probing = False
        due = _log_every.due(self.name)  # called even when opening: a minute's quiet starts now
        if opening or due:
            log.warning(
                "cache %s unavailable (%s: %s); answering from the database, throttle open, retrying it every %s s",
                self.name,
                type(error).__name__,
                error,
                settings.GARDEN_CACHE_BREAKER_SECONDS,
            )

    def reset(self) -> None:
        with self._lock:
            self._open_until, self._opened_at, self._probing = 0.0, 0.0, False


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def _server_name(location) -> str:
    return ",".join(location) if isinstance(location, list | tuple) else str(location)


def breaker_for(location) -> Breaker:
    """The process's breaker of a cache LOCATION (Django gives each thread its own cache client;
    they share one breaker, so an outage costs one failed call per interval, not one per thread)."""
    name = _server_name(location)
    found = _breakers.get(name)
    if found is None:
        with _breakers_lock:
            found = _breakers.setdefault(name, Breaker(name))
    return found


def available(alias: str = "default") -> bool:
    """False while the cache's breaker is open (a per-process cache is always available)."""
    config = settings.CACHES[alias]
    if not config["BACKEND"].startswith("django_redis."):
        return True
    return breaker_for(config.get("LOCATION", "")).closed


def on_recovery(hook: Callable[[], object]) -> None:
    """Run ``hook`` when a breaker closes again (work that could not be done while it was open)."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


def reset_breakers() -> None:
    """Tests: every breaker closed."""
    for breaker in list(_breakers.values()):
        breaker.reset()
    _log_every.reset()


def redis_call(operation: str, command: Callable[[Any], T], *, default: T, alias: str = "default") -> T:
    """``command(redis_client)`` behind the cache's breaker; ``default`` when Redis fails or is skipped."""
    from django_redis import get_redis_connection

    breaker = breaker_for(settings.CACHES[alias].get("LOCATION", ""))
    if not breaker.allow():
        SKIPPED.labels(operation).inc()
        return default
    try:
        result = command(get_redis_connection(alias))
    except (RedisError, OSError, ConnectionInterrupted) as error:
        breaker.failed(operation, error.__cause__ if isinstance(error, ConnectionInterrupted) and error.__cause__ else error)
        return default
    except Exception:
        breaker.succeeded()  # not an outage; a pending probe is settled
        raise
    breaker.succeeded()
    return result


# --- The django-redis client ------------------------------------------------------------------------

# The operations the cache API (and django-redis's extras) send; nested calls (add → set,
# set_many → set on a pipeline) are accounted once, by the outermost.
GUARDED = (
    "get",
    "set",
    "add",
    "delete",
    "get_many",
    "set_many",
    "delete_many",
    "delete_pattern",
    "incr",
    "decr",
    "incr_version",
    "has_key",
    "touch",
    "ttl",
    "pttl",
    "expire",
    "persist",
    "keys",
    "clear",
)
_inside = threading.local()


def _guard(name: str):
    plain = getattr(DefaultClient, name)

    @functools.wraps(plain)
    def guarded(self, *args, **kwargs):
        if getattr(_inside, "depth", 0):
            return plain(self, *args, **kwargs)
        if not self.breaker.allow():
            SKIPPED.labels(name).inc()
            raise ConnectionInterrupted(connection=None) from CacheSkipped(self.breaker.name)
        _inside.depth = 1
        error: BaseException | None = None
        try:
            result = plain(self, *args, **kwargs)
        except ConnectionInterrupted as interrupted:
            error = interrupted
        except (RedisError, OSError) as raw:  # a few django-redis methods let these through unwrapped
            error = ConnectionInterrupted(connection=None)
            error.__cause__ = raw
        except Exception:
            # Redis answered (incr of a missing key) or nothing was sent (a value that does not
            # pickle): not an outage, and a probe must not stay pending.
            _inside.depth = 0
            self.breaker.succeeded()
            raise
        finally:
            _inside.depth = 0
        if error is not None:
            # After the depth is reset: a recovery hook run by succeeded() may use the cache.
            self.breaker.failed(name, error.__cause__ or error)
            raise error  # IGNORE_EXCEPTIONS makes it a miss
        self.breaker.succeeded()
        return result

    return guarded


class BreakerClient(DefaultClient):
    """django-redis's client with every operation behind the server's breaker (see the module)."""

    def __init__(self, server, params, backend) -> None:
        super().__init__(server, params, backend)
        self.breaker = breaker_for(server)


for _name in GUARDED:
    setattr(BreakerClient, _name, _guard(_name))
