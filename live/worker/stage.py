"""The live worker's post stage: one pipeline call's pictures stored (live.worker.store) while the
next call runs, and each job's outcome handed back to its run (``settle``).

Bounded: at most ``bound`` calls wait for it; a call handed over beyond that waits for room, so
the model never runs far ahead of the checks (and memory holds at most ``bound`` + 1 calls'
pictures). ``overlap=False`` runs the work at once on the caller's thread (in-process runs and
tests: one database connection, nothing in flight when the caller returns).

One thread per process, started on first use and kept (a run at a time uses it: a worker's pool
process runs one task at a time), so its database connection is opened once, not per job.

A call whose work escapes store.store_call (a crash of the stage) is settled as None: its jobs are
still in their run's ``in_flight`` and go back to the queue when the run ends, never lost.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection

from live.worker import store

log = logging.getLogger(__name__)

Settle = Callable[[list, "list[store.Outcome] | None"], None]

_lock = threading.Lock()
_threads: dict[int, tuple[threading.Thread, queue.Queue]] = {}  # pid → this process's post-stage thread and its queue


class PostStage:
    def __init__(self, *, overlap: bool, settle: Settle, bound: int = 2, cpus: set[int] | None = None) -> None:
        self.overlap = overlap
        self.settle = settle
        self.bound = max(1, bound)
        self.cpus = cpus  # the thread's CPUs (bench/overlap.py pins the stages apart); None: as it is
        self._queue: queue.Queue | None = None

    def __enter__(self) -> PostStage:
        if self.overlap:
            thread, self._queue = _stage_thread(self.bound)
            if self.cpus and thread.native_id is not None:
                os.sched_setaffinity(thread.native_id, self.cpus)
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def submit(self, items: list[store.Item], description: dict, timings: dict) -> None:
        """Hand one call's pictures over; blocks while ``bound`` calls already wait."""
        work = (items, description, timings, self.settle)
        if self._queue is None:
            _run(work)
        else:
            self._queue.put(work)

    def close(self) -> None:
        """Wait until every call handed over is settled (the run's end: nothing left in flight)."""
        if self._queue is not None:
            self._queue.join()
            self._queue = None


def _stage_thread(bound: int) -> tuple[threading.Thread, queue.Queue]:
    with _lock:
        thread, work = _threads.get(os.getpid(), (None, None))
        if thread is None or work is None or not thread.is_alive() or work.maxsize != bound:
            work = queue.Queue(maxsize=bound)
            thread = threading.Thread(target=_serve, args=(work,), name="live-post-stage", daemon=True)
            thread.start()
            _threads[os.getpid()] = (thread, work)
        return thread, work


def _serve(work_queue: queue.Queue) -> None:
    while True:
        work = work_queue.get()
        try:
            if connection.errors_occurred:  # kept between calls (opened once), replaced after a database error
                close_old_connections()
            if callable(work):
                work()
            else:
                _run(work)
        except BaseException:  # the thread must live on, or the next run would wait on a full queue
            log.exception("live post-processing failed; its jobs are requeued when the run ends")
        finally:
            work_queue.task_done()


def release() -> None:
    """Close the post-stage thread's database connection (tests, before their database is dropped)."""
    thread, work = _threads.get(os.getpid(), (None, None))
    if thread is not None and work is not None and thread.is_alive():
        work.put(connection.close)
        work.join()


def _run(work: tuple) -> None:
    items, description, timings, settle = work
    try:
        outcomes = store.store_call(items, description, timings)
    except Exception:
        log.exception("live post-processing failed; its jobs are requeued when the run ends")
        outcomes = None
    settle(items, outcomes)
