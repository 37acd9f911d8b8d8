"""A running job's heartbeat, written by a background thread while the attempt lives.

The steps of a pipeline call also write ``heartbeat_at``, but a model that loads for minutes, a
slow first ``torch.compile`` call or a long preparation write nothing. The thread writes
``heartbeat_at`` every GARDEN_JOB_HEARTBEAT_SECONDS whatever the job is doing, so the lease
(GARDEN_JOB_LEASE_SECONDS) can be short: a job whose heartbeat stops is one whose process died
(or hangs with the interpreter frozen), and the sweeper resumes it within a minute or two.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

log = logging.getLogger(__name__)


# Writes one beat (the attempt's ``heartbeat_at``, at the time given) and says whether to go on:
# False once no row of the attempt is left to beat (the job finished, or the attempt lost it).
Beat = Callable[[datetime], bool]


@contextlib.contextmanager
def beating(beat: Beat, *, interval: float | None = None) -> Iterator[None]:
    """Call ``beat`` every interval for the block; no thread when the interval is 0.

    The thread stops when the block ends, or when ``beat`` says so. It uses its own database
    connection and closes it when it stops.
    """
    interval = heartbeat_interval() if interval is None else interval
    if interval <= 0:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_beat, args=(beat, interval, stop), name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def heartbeat_interval() -> float:
    """GARDEN_JOB_HEARTBEAT_SECONDS, at most a third of the lease: a lease set shorter than the
    heartbeat (a test's 4 s lease) must not make a live job look dead between two beats."""
    interval = settings.GARDEN_JOB_HEARTBEAT_SECONDS
    if interval <= 0:
        return 0.0
    return min(interval, max(0.5, settings.GARDEN_JOB_LEASE_SECONDS / 3))


def _beat(beat: Beat, interval: float, stop: threading.Event) -> None:
    try:
        while not stop.wait(interval):
            try:
                if not beat(timezone.now()):
                    return
            except Exception:  # a database hiccup: the next beat may pass; the lease tolerates a few misses
                log.warning("job heartbeat failed", exc_info=True)
                close_old_connections()
    finally:
        connection.close()
