"""Worker presence: each worker process writes a ``WorkerPresence`` row every
GARDEN_WORKER_PRESENCE_SECONDS, so health probes (``GET /sdapi/v1/options``) can tell whether a GPU
worker is up with one indexed query instead of a broker broadcast (``generation.dispatch.presence`` reads).

The beacon is a daemon thread, not a timer of the worker's event loop: a ``--pool solo`` worker
runs its job in the main process, whose timers then stop for the whole job, and a busy GPU worker
must not look gone while it paints. A clean shutdown deletes the row; a killed worker's row simply
ages out (3 beats, ``generation.dispatch.presence.MISSED_BEATS``).

A prefork worker forks its pool processes from the process this thread runs in. A child forked
while the thread is inside the database driver inherits the driver's locks held (SQLite's global
mutexes) and hangs at its first query, so a fork waits for the current beat to end
(``os.register_at_fork``), and each beat closes its connection so no child inherits one.
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from generation.dispatch.presence import READY, WARMING
from generation.models import WorkerPresence
from library.hosts import host_name

log = logging.getLogger(__name__)

# Held for a whole beat and across every fork of this process (see the module's docstring).
_BEAT_LOCK = threading.Lock()
os.register_at_fork(before=_BEAT_LOCK.acquire, after_in_parent=_BEAT_LOCK.release, after_in_child=_BEAT_LOCK.release)


def record_presence(*, name: str, queues: list[str], details: dict | None = None, models: list[str] | None = None) -> WorkerPresence:
    """Write (or refresh) ``name``'s row: its queues, whether it serves GARDEN_GPU_QUEUE, its host,
    now; ``models``: the models it holds in memory, when this process is the one that paints."""
    defaults = {
        "queues": sorted(queues),
        "gpu": settings.GARDEN_GPU_QUEUE in queues,
        "host": host_name()[:255],
        "details": details or {},
        "seen_at": timezone.now(),
    }
    if models is not None:
        defaults["models_loaded"] = models
    row, _ = WorkerPresence.objects.update_or_create(name=name, defaults=defaults)
    return row


def note_models(*, worker: str, loading: str = "") -> None:
    """Said by the process that paints, as soon as it changes: the models it holds in memory and
    the one it is loading now (``loading``), for the pull (generation.dispatch.pull). Never fails the job."""
    from generation import backends

    try:
        held = backends.loaded_pipelines.loaded_names()
        WorkerPresence.objects.filter(name=worker).update(models_loaded=held, model_loading=loading[:255])
    except Exception:  # the next beat says them; the job goes on
        log.warning("could not record the models of %s", worker, exc_info=True)


def remove_presence(*, name: str) -> None:
    WorkerPresence.objects.filter(name=name).delete()


class PresenceBeacon:
    """A thread that records a worker's presence at once and then every ``interval`` seconds."""

    def __init__(self, *, name: str, queues: list[str], interval: float | None = None) -> None:
        self.name = name
        self.queues = list(queues)
        self.interval = settings.GARDEN_WORKER_PRESENCE_SECONDS if interval is None else interval
        # warming: started, not taking messages yet (its finishing processes, a warm-up); then ready.
        self.details = {"pid": os.getpid(), "interval": self.interval, "state": WARMING}
        self._stop = threading.Event()
        self._now = threading.Event()  # beat at once (the state changed)
        self._thread: threading.Thread | None = None
        self.paints_here = False  # a solo worker: each beat also says the models this process holds

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="worker-presence", daemon=True)
        self._thread.start()

    def ready(self) -> None:
        """The worker takes messages from now on: said at once, not at the next beat."""
        self.details["state"] = READY
        self._now.set()

    def stop(self) -> None:
        """Stop beating and delete the row (a clean shutdown: the worker is gone at once, not after 3 beats)."""
        self._stop.set()
        self._now.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            remove_presence(name=self.name)
        except Exception:  # shutting down with the database away: the row ages out instead
            log.warning("could not remove the presence row of %s", self.name, exc_info=True)
        finally:
            close_old_connections()

    def _models(self) -> list[str] | None:
        if not self.paints_here:
            return None
        from generation import backends

        return backends.loaded_pipelines.loaded_names()

    def _run(self) -> None:
        while True:
            with _BEAT_LOCK:
                try:
                    record_presence(name=self.name, queues=self.queues, details=self.details, models=self._models())
                except Exception:  # a database hiccup: the next beat tries again (3 may be missed)
                    log.warning("worker presence beat failed", exc_info=True)
                finally:
                    connection.close()
            self._now.wait(self.interval)
            self._now.clear()
            if self._stop.is_set():
                return
