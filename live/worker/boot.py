"""The start of a post-stage pool process (live.worker.stage). Imports nothing of Django at module
level: ``spawn`` unpickles this function before Django is set up."""

from __future__ import annotations

import logging
import os


def start(cpus: set[int] | None) -> None:
    """Django set up on the worker's settings (its environment), numpy's BLAS on one thread (as in
    the worker's own pool processes: generation.tasks)."""
    import django

    if cpus:
        os.sched_setaffinity(0, cpus)
    django.setup()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    logging.getLogger("live.worker.stage").info("live post-processing process %d started", os.getpid())


def call(work, *args):
    """One call's work in a pool process, on a database connection that still works (replaced after
    an error or past CONN_MAX_AGE, as Django does between a web process's requests)."""
    from django.db import close_old_connections, connection

    if connection.errors_occurred or connection.close_at is not None:
        close_old_connections()
    return work(*args)
