"""The live worker's post stage: one pipeline call's pictures stored (live.worker.store) while the
next call runs, and each job's outcome handed back to its run (``settle``).

Where the work runs:

- ``overlap=False`` (in-process runs, eager mode, tests): at once, on the caller's thread;
- a process pool (GARDEN_LIVE_POST_PROCESSES ≥ 1, the default in a worker): ``spawn``ed processes
  that run django.setup() once, then store each call in a transaction of its own; the process that
  launches the model's work only pickles the pictures over, so the post-processing never takes its
  interpreter lock. The pool is kept for the worker process's life (its processes open their
  database connection and load the image check once) and replaced if one of its processes dies;
- a thread of this process (GARDEN_LIVE_POST_PROCESSES = 0).

Bounded: at most ``bound`` calls wait for it; a call handed over beyond that waits for room, so the
model never runs far ahead of the checks (memory holds at most ``bound`` + 1 calls' pictures).

A call whose work escapes store.store_call (a crash of the stage, a pool process that died) is
settled as None: its jobs are still in their run's ``in_flight`` and go back to the queue when the
run ends, never lost.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.process import AuthenticationString  # type: ignore[attr-defined]

from django.conf import settings
from django.db import close_old_connections, connection

from live.worker import boot, store

log = logging.getLogger(__name__)

Settle = Callable[[list, "list[store.Outcome] | None"], None]

_lock = threading.Lock()
_threads: dict[int, tuple[threading.Thread, queue.Queue]] = {}  # pid → this process's post-stage thread and its queue
_pools: dict[int, tuple[ProcessPoolExecutor, int]] = {}  # pid → this process's pool and its size
# What a pool process runs for one call (a module-level function: it is pickled by name).
target: Callable[[list, dict, dict], list] = store.store_call


class PostStage:
    def __init__(self, *, overlap: bool, settle: Settle, bound: int = 2, cpus: set[int] | None = None, processes: int | None = None):
        self.overlap = overlap
        self.settle = settle
        self.bound = max(1, bound)
        self.cpus = cpus  # the thread's or pool's CPUs (bench/overlap.py pins the stages apart); None: as it is
        self.processes = settings.GARDEN_LIVE_POST_PROCESSES if processes is None else processes
        self._queue: queue.Queue | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._room = threading.BoundedSemaphore(self.bound)
        self._open = 0  # pool calls handed over and not yet settled
        self._settled = threading.Condition()

    def __enter__(self) -> PostStage:
        if self.overlap and self.processes > 0:
            self._pool = _process_pool(self.processes, self.cpus)
        elif self.overlap:
            thread, self._queue = _stage_thread(self.bound)
            if self.cpus and thread.native_id is not None:
                os.sched_setaffinity(thread.native_id, self.cpus)
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def submit(self, items: list[store.Item], description: dict, timings: dict) -> None:
        """Hand one call's pictures over; blocks while ``bound`` calls already wait."""
        if self._pool is not None:
            self._room.acquire()
            with self._settled:
                self._open += 1
            try:
                with _may_start_processes():  # the pool starts its processes on demand, at a submit
                    future = self._pool.submit(boot.call, target, items, description, timings)
            except Exception:  # the pool broke since it was taken: this call's jobs go back at the run's end
                log.exception("live post-processing pool refused a call")
                _drop_pool(self._pool)
                self._finished()
                self.settle(items, None)
                return
            future.add_done_callback(lambda done: self._done(done, items))
        elif self._queue is not None:
            self._queue.put((items, description, timings, self.settle))
        else:
            _run((items, description, timings, self.settle))

    def _done(self, future: Future, items: list) -> None:
        """A pool call's end, on the pool's own thread of this process: its outcomes to the run."""
        try:
            outcomes = future.result()
        except Exception:
            log.exception("live post-processing of %d pictures failed; their jobs are requeued when the run ends", len(items))
            _drop_pool(self._pool)
            outcomes = None
        try:
            self.settle(items, outcomes)
        finally:
            self._finished()

    def _finished(self) -> None:
        self._room.release()
        with self._settled:
            self._open -= 1
            self._settled.notify_all()

    def close(self) -> None:
        """Wait until every call handed over is settled (the run's end: nothing left in flight)."""
        if self._pool is not None:
            with self._settled:
                self._settled.wait_for(lambda: self._open == 0)
            self._pool = None
        if self._queue is not None:
            self._queue.join()
            self._queue = None


# --- the pool -------------------------------------------------------------------------------------


def _process_pool(processes: int, cpus: set[int] | None) -> ProcessPoolExecutor:
    with _lock:
        pool, size = _pools.get(os.getpid(), (None, 0))
        if pool is None or getattr(pool, "_broken", False) or size != processes:  # _broken: set once a process died
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn"), initializer=boot.start, initargs=(cpus,)
            )
            _pools[os.getpid()] = (pool, processes)
        return pool


@contextlib.contextmanager
def _may_start_processes() -> Iterator[None]:
    """A Celery prefork pool process is daemonic, and multiprocessing refuses to start children from
    one (so that none outlives it). The pool's processes do not outlive it: each ends when its pipe
    from this process closes, so the flag is lifted while the pool starts them. billiard also left
    its own authkey type, which ``spawn`` cannot hand over: the same bytes in the standard type."""
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    if type(config.get("authkey")) is not AuthenticationString:
        config["authkey"] = AuthenticationString(bytes(config.get("authkey") or os.urandom(32)))
    daemon = config.get("daemon", False)
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemon


def _drop_pool(pool: ProcessPoolExecutor | None) -> None:
    """Forget a pool whose process died: the next run starts a new one."""
    with _lock:
        if pool is not None and _pools.get(os.getpid(), (None, 0))[0] is pool:
            del _pools[os.getpid()]
            pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop this process's pool (tests, and a worker process's exit)."""
    with _lock:
        pool, _size = _pools.pop(os.getpid(), (None, 0))
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the thread -----------------------------------------------------------------------------------


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
        outcomes = target(items, description, timings)
    except Exception:
        log.exception("live post-processing failed; its jobs are requeued when the run ends")
        outcomes = None
    settle(items, outcomes)
