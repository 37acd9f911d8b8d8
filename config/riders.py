"""Cache writes that may wait a moment, sent without a round trip of their own.

A write added here (``set_soon``) rides along in this process's next kiosk throttle call, the
pipelined ``INCR`` + ``EXPIRE`` every kiosk request sends to Redis first (config.api.count_request),
so it costs no round trip. When no kiosk request comes within ``RIDE_WAIT_SECONDS``, a timer thread
sends what is waiting in one pipeline of its own, and so does a process that exits normally. /like
uses it for its counters' change tokens (recommend.generations): a like was three round trips (the
throttle, the statement, the tokens' ``SET``) and is two.

What waiting costs: a write is seen by other processes up to ``RIDE_WAIT_SECONDS`` later than if it
had been sent at once, and a process killed in that time loses it. Writes that fail (Redis down,
the breaker open) wait for the next call that reaches Redis: the next throttle call, or the
breaker's recovery (config.cache.on_recovery). Only django-redis caches take riders; with any other
cache ``set_soon`` writes at once through the cache API.
"""

from __future__ import annotations

import atexit
import os
import threading
import time

from django.conf import settings
from django.core.cache import caches

from config import cache as cache_breaker

RIDE_WAIT_SECONDS = 0.05  # at most this long before the timer sends what no throttle call took


def rides(alias: str = "default") -> bool:
    """Whether writes to this cache can ride along (a django-redis cache: raw pipelines)."""
    return settings.CACHES[alias]["BACKEND"].startswith("django_redis.")


class Riders:
    """This process's waiting writes: raw Redis keys (the cache's prefix and version applied) and
    values as the cache encodes them, so a rider's ``SET`` is what ``cache.set`` would send."""

    def __init__(self) -> None:
        self._waiting: dict[str, bytes | int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._timer_pid: int | None = None  # the process whose timer thread runs (none after a fork)

    def add(self, values: dict[str, object], alias: str = "default") -> None:
        client = caches[alias].client
        encoded = {str(client.make_key(key)): client.encode(value) for key, value in values.items()}
        with self._lock:
            self._waiting.update(encoded)
            if self._timer_pid != os.getpid():
                self._timer_pid = os.getpid()
                threading.Thread(target=self._timer, name="cache riders", daemon=True).start()
        self._wake.set()

    def take(self) -> dict[str, bytes | int]:
        with self._lock:
            taken, self._waiting = self._waiting, {}
        return taken

    def put_back(self, taken: dict[str, bytes | int]) -> None:
        """Writes whose call failed wait again; a value added since is newer and stays."""
        if taken:
            with self._lock:
                self._waiting = {**taken, **self._waiting}

    def board(self, pipe) -> dict[str, bytes | int]:
        """Add the waiting writes to ``pipe`` (a raw Redis pipeline about to be sent); returns them,
        for ``put_back`` should the pipeline fail."""
        taken = self.take()
        for key, value in taken.items():
            pipe.set(key, value)
        return taken

    def send(self) -> None:
        """Send what is waiting now, in one pipeline; on failure it waits for the next call."""
        taken = self.take()
        if not taken:
            return

        def send_all(redis) -> bool:
            pipe = redis.pipeline(transaction=False)
            for key, value in taken.items():
                pipe.set(key, value)
            pipe.execute()
            return True

        if not cache_breaker.redis_call("cache riders", send_all, default=False):
            self.put_back(taken)

    def _timer(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(RIDE_WAIT_SECONDS)
            self._wake.clear()  # before taking: a write added from here on wakes the next round
            self.send()


riders = Riders()
# A process that exits normally sends what is waiting (a management command's rebuild, a worker's
# graceful stop); only one killed outright loses it.
atexit.register(riders.send)


def set_soon(values: dict[str, object], alias: str = "default") -> None:
    """``cache.set_many(values, timeout=None)``, sent with the next throttle call (see the module)."""
    if rides(alias):
        riders.add(values, alias)
    else:
        caches[alias].set_many(values, timeout=None)


cache_breaker.on_recovery(riders.send)
