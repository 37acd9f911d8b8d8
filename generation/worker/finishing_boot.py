"""The start of a finishing process (generation.worker.finishing_processes). Imports nothing of Django at
module level: ``spawn`` unpickles these functions before Django is set up."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start(parent: int) -> None:
    """Die with the worker (``parent``), then Django set up on the worker's settings (its
    environment), numpy's BLAS on one thread (as generation.tasks does in workers), and the image
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
    logging.getLogger("generation.worker.finishing_processes").info("finishing process %d ready", os.getpid())


def _die_with(parent: int) -> None:
    """The kernel kills this process when the worker's main thread ends, even by SIGKILL
    (PR_SET_PDEATHSIG, Linux); elsewhere the closed call queue ends it when the worker goes. Checked
    after setting it: a worker that died before has already made this process an orphan."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def ready() -> int:
    """Answered once the process has started (``start`` ran): the worker waits for one per process."""
    return os.getpid()


def call(work, *args):
    """One call's finishing on a database connection that still works (replaced after an error or
    past CONN_MAX_AGE, as Django does between a web process's requests)."""
    from django.db import close_old_connections, connection

    if connection.errors_occurred or connection.close_at is not None:
        close_old_connections()
    return work(*args)
