"""The web server's threads: gunicorn's gthread worker with a pool of GARDEN_WEB_THREADS threads, one
more for each request that waits (the live picture's long poll), for as long as it waits.

gthread runs every request on a fixed pool of threads, so a long poll waiting in one takes it from
the other requests. This worker's pool (``--worker-class config.web_threads.Worker``, gunicorn's
``get_thread_pool``) keeps GARDEN_WEB_THREADS threads taking requests whatever waits: a request
that is about to wait says so (``waiting``), the pool starts a thread in its place, and once the
wait ends one thread ends, after the requests queued before. Under load the requests queue
for the pool as in a plain gthread worker, so a light request costs what it costs there. A
process holds at most twice GARDEN_WEB_THREADS database connections: past GARDEN_WEB_THREADS
waiting requests, ``waiting`` closes the waiting thread's (and a thread that ends closes its own).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from django.db import connections
from gunicorn.workers.gthread import ThreadWorker

_pool: Pool | None = None  # this process's, in a web server started with Worker
ONE_TOO_MANY = object()  # queued when a wait ends: the thread that takes it ends if one too many run


class Pool:
    """A ThreadPoolExecutor for gthread: ``size`` threads take requests, plus one per request waiting."""

    def __init__(self, size: int, *, on_thread_end: Callable[[], None]) -> None:
        self.size, self.on_thread_end = size, on_thread_end
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads, self.waiting = 0, 0
        with self.lock:
            for _ in range(size):
                self._start_thread()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.work.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.work.put(None)  # each thread passes it on and ends

    @contextlib.contextmanager
    def one_waiting(self) -> Iterator[bool]:
        """A thread in place of the waiting one; True when more than ``size`` wait (then the waiting
        one should close its database connections: ``waiting``)."""
        with self.lock:
            self.waiting += 1
            crowded = self.waiting > self.size
            if self.threads < self.size + self.waiting:
                self._start_thread()
        try:
            yield crowded
        finally:
            with self.lock:
                self.waiting -= 1
            self.work.put(ONE_TOO_MANY)  # the thread that takes it ends (and closes its connections)

    def _start_thread(self) -> None:  # under the lock
        self.threads += 1
        threading.Thread(target=self._run, name=f"web-{self.threads}", daemon=True).start()

    def _run(self) -> None:
        try:
            while (item := self.work.get()) is not None:
                if item is ONE_TOO_MANY:
                    with self.lock:
                        if self.threads > self.size + self.waiting:  # a wait ended: one thread fewer
                            self.threads -= 1
                            return
                    continue
                future, fn, args, kwargs = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as exc:  # the future carries it to gthread, as ThreadPoolExecutor's does
                        future.set_exception(exc)
                del item, future  # not kept alive while this thread waits for the next
            self.work.put(None)
        finally:
            self.on_thread_end()


class Worker(ThreadWorker):
    """gunicorn's gthread worker with the Pool (``--threads``: its size, GARDEN_WEB_THREADS)."""

    def get_thread_pool(self) -> Pool:
        global _pool
        _pool = Pool(self.cfg.threads, on_thread_end=connections.close_all)
        return _pool


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """While the block runs this request waits (a long poll), and the web server's pool runs another
    thread in its place. The waiting thread keeps its database connection (its last read needs no
    new one) while at most GARDEN_WEB_THREADS requests of the process wait; past that it closes it
    (outside a transaction), so a process holds at most twice GARDEN_WEB_THREADS connections.
    Outside the web server (runserver, a test client, a management command) nothing changes."""
    if _pool is None:
        yield
        return
    with _pool.one_waiting() as crowded:
        if crowded and not any(connections[alias].in_atomic_block for alias in connections):
            connections.close_all()
        yield
