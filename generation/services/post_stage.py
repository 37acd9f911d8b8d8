"""The live worker's second stage: a thread that post-processes one pipeline call's pictures (safety
check, watermark, JPEG and metadata, provenance, storage, rows) while the next call runs.

Bounded: at most ``bound`` calls wait for it; a call handed over beyond that waits for room, so
the model never runs far ahead of the checks (and memory holds at most ``bound`` + 1 calls'
pictures). ``overlap=False`` runs the work at once on the caller's thread (in-process runs and
tests: one database connection, nothing in flight when the caller returns).

The work is a callable that handles its own failures per job (generation.services.live_runner);
anything that still escapes it is logged and the stage goes on: the jobs it carried are still in
their run's ``in_flight`` and go back to the queue when the run ends, never lost.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from django.db import connection

log = logging.getLogger(__name__)

_STOP = object()


class PostStage:
    def __init__(
        self,
        *,
        overlap: bool,
        bound: int = 2,
        cpus: set[int] | None = None,
    ) -> None:
        self.overlap = overlap
        self.cpus = cpus  # the thread's CPUs (bench/overlap.py pins the stages apart); None: the process's
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, bound))
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PostStage:
        if self.overlap:
            self._thread = threading.Thread(target=self._serve, name="live-post-stage", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def submit(self, work: Callable[[], None]) -> None:
        """Hand one call's post-processing over; blocks while ``bound`` calls already wait."""
        if self._thread is None:
            try:
                work()
            except Exception:
                log.exception("live post-processing failed; its jobs are requeued when the run ends")
        else:
            self._queue.put(work)

    def close(self) -> None:
        """Wait until every call handed over is done (the caller's finally: nothing left in flight)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _serve(self) -> None:
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)  # Linux: 0 is the calling thread
        try:
            while (work := self._queue.get()) is not _STOP:
                try:
                    work()
                except BaseException:  # the thread must live on, or stage 1 would wait on a full queue
                    log.exception("live post-processing failed; its jobs are requeued when the run ends")
        finally:
            connection.close()  # this thread's own database connection
