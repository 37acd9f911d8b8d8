"""Where a gathered call is finished: in the worker's finishing processes, or inline.

A worker whose main thread launches the model's work (the live worker: ``celery worker --pool
solo``, docs/live.md#the-live-worker) starts GARDEN_FINISHING_PROCESSES processes when it starts,
before its presence says ready (``start_processes``, from generation.worker.start): ``spawn``ed, each
sets Django up once, keeps its database connection and loads the image check, and dies with the
worker (``_set_up``: this module imports nothing of Django at module level, as ``spawn`` unpickles
its functions before Django is set up). The launching thread only pickles a call's pictures over,
so the finishing never takes its interpreter lock. Anywhere else (a prefork pool process, eager mode,
``manage.py generate``, tests) a call is finished inline, after it.

``Handover`` is one run's side of it: bounded (at most ``bound`` calls wait to be finished; a call
handed over beyond that waits for room, so the model never runs far ahead of the checks), and
its outcomes are taken back on the launching thread (``settled``): a done-callback only queues
them, it writes nothing.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

# What a finishing process runs for one call: a module-level function, pickled by name.
Work = Callable[[list, dict, dict], list]


class FinishingProcesses:
    """The worker's finishing processes (started at once, replaced whole if one dies)."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._lock = threading.Lock()
        self._executor = self._started()
        self.set_number = 0  # moved at each replacement: a broken set is replaced once

    def _started(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_set_up,
            initargs=(os.getpid(),),
        )
        # One answer per process: each is spawned and has set Django up before this returns.
        for ready in [executor.submit(_ready) for _ in range(self.count)]:
            ready.result()
        return executor

    def submit(self, work: Work, *args) -> tuple[Future, int]:
        """The call's future, and the set of processes it went to."""
        with self._lock:
            return self._executor.submit(_call, work, *args), self.set_number

    def replace(self, broken: int) -> None:
        """A process of set ``broken`` died (the whole set is broken): a new set, started now, unless done already."""
        with self._lock:
            if broken != self.set_number:
                return
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._started()
            self.set_number += 1
        log.warning("a finishing process died; %d new ones started", self.count)

    def shutdown(self) -> None:
        with self._lock:
            self._executor.shutdown(wait=True, cancel_futures=True)


_running: FinishingProcesses | None = None


def start_processes(count: int) -> FinishingProcesses:
    """Start this worker's finishing processes (at worker start, on the thread that launches jobs)."""
    global _running
    stop_processes()
    _running = FinishingProcesses(count)
    log.info("%d finishing process(es) started", _running.count)
    return _running


def stop_processes() -> None:
    global _running
    running, _running = _running, None
    if running is not None:
        running.shutdown()


def running() -> FinishingProcesses | None:
    return _running


class Handover:
    """One run's calls handed to the finishing processes (or finished inline), and their outcomes."""

    def __init__(self, work: Work, *, bound: int = 2) -> None:
        self.work = work
        self.processes = running()
        self._room = threading.BoundedSemaphore(max(1, bound))
        self._done: queue.Queue = queue.Queue()
        self._open = 0

    def submit(self, items: list, description: dict, timings: dict) -> None:
        """Hand one call's pictures over (blocks while ``bound`` calls wait); inline without processes."""
        self._open += 1
        if self.processes is None:
            self._done.put((items, self._inline(items, description, timings)))
            return
        self._room.acquire()
        try:
            future, set_number = self.processes.submit(self.work, items, description, timings)
        except (BrokenProcessPool, RuntimeError):  # broken since the last call: this call's jobs go back
            log.exception("the finishing processes refused a call")
            self._finished(items, None)
            return
        future.add_done_callback(lambda done: self._finished(items, (done, set_number)))

    def _inline(self, items: list, description: dict, timings: dict) -> list | None:
        try:
            return self.work(items, description, timings)
        except Exception:
            log.exception("finishing %d pictures failed; their jobs are requeued when the run ends", len(items))
            return None

    def _finished(self, items: list, done: tuple[Future, int] | None) -> None:
        """On the executor's thread: only queues the outcome (taken back by ``settled``)."""
        self._room.release()
        self._done.put((items, done))

    def settled(self, *, block: bool = False) -> Iterator[tuple[list, list | None]]:
        """The calls finished since the last look, each with its outcomes (None: its finishing died
        with it; its jobs go back to the queue). ``block``: every call handed over, waiting for them."""
        while self._open:
            try:
                items, done = self._done.get(block=block)
            except queue.Empty:
                return
            self._open -= 1
            yield items, self._outcomes(items, done)

    def _outcomes(self, items: list, done) -> list | None:
        if not isinstance(done, tuple):  # inline: the outcomes themselves, or None
            return done
        future, set_number = done
        try:
            return future.result()
        except BrokenProcessPool:
            log.error("a finishing process died with a call of %d pictures; their jobs are requeued", len(items))
            if self.processes is not None:
                self.processes.replace(set_number)
        except Exception:
            log.exception("finishing %d pictures failed; their jobs are requeued when the run ends", len(items))
        return None


# --- a finishing process's side ------------------------------------------------------------------

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _set_up(parent: int) -> None:
    """Die with the worker (``parent``), then Django set up on the worker's settings (its
    environment), numpy's BLAS on one thread (as generation.worker.start does in workers), and the image
    check's model loaded: the first picture pays none of it."""
    _die_with(parent)
    import django

    django.setup()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    from django.conf import settings

    if settings.GARDEN_SAFETY_IMAGE_CHECK:
        from safety import images

        images.classifier()
    log.info("finishing process %d ready", os.getpid())


def _die_with(parent: int) -> None:
    """The kernel kills this process when the worker's main thread ends, even by SIGKILL
    (PR_SET_PDEATHSIG, Linux); elsewhere the closed call queue ends it when the worker goes. Checked
    after setting it: a worker that died before has already made this process an orphan."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _ready() -> int:
    """Answered once the process has started (``_set_up`` ran): the worker waits for one per process."""
    return os.getpid()


def _call(work, *args):
    """One call's finishing on a database connection that still works (replaced after an error or
    past CONN_MAX_AGE, as Django does between a web process's requests)."""
    from django.db import close_old_connections, connection

    if connection.errors_occurred or connection.close_at is not None:
        close_old_connections()
    return work(*args)
