"""Sending a job's message to its Celery queue.

Services enqueue through this module and never import ``generation.tasks`` (the tasks import the
services): the task is looked up by name in the Celery app's registry, which the generation app
fills when it starts (``GenerationConfig.ready`` imports the tasks module). Looking it up, rather
than ``send_task``, keeps ``CELERY_TASK_ALWAYS_EAGER`` working.

The job row is the truth, the message only a wake-up call: a send that fails (the broker is down
or unreachable) never fails the caller. It is logged, the row is marked ``send_failed`` and the
sweeper sends it again at its next run. Sends are bounded (``GARDEN_BROKER_TIMEOUT_SECONDS`` to
connect, ``CELERY_TASK_PUBLISH_RETRY_POLICY``), and after a failure this process does not try
again for ``GARDEN_BROKER_RETRY_AFTER_SECONDS``, so a web request is never held for long while
the broker is down.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.conf import settings

RUN_JOB_TASK = "generation.tasks.run_generation_job"
SWEEP_TASK = "generation.tasks.sweep_stale_jobs"

log = logging.getLogger(__name__)

_lock = threading.Lock()
_down_until = 0.0  # time.monotonic() before which this process does not try the broker again


def broker_looks_down() -> bool:
    """True while a recent send from this process failed (see GARDEN_BROKER_RETRY_AFTER_SECONDS)."""
    return time.monotonic() < _down_until


def _mark_down() -> None:
    global _down_until
    with _lock:
        _down_until = time.monotonic() + settings.GARDEN_BROKER_RETRY_AFTER_SECONDS


def _mark_up() -> None:
    global _down_until
    with _lock:
        _down_until = 0.0


def enqueue_job(*, job_id, queue: str) -> bool:
    """Send the job's message; False (logged, row marked ``send_failed``) when the broker refused it."""
    from generation.models import GenerationJob  # the models import nothing from here; kept local for import order

    if settings.CELERY_TASK_ALWAYS_EAGER:  # runs the task here, no broker involved
        current_app.tasks[RUN_JOB_TASK].apply_async(args=[str(job_id)], queue=queue)
        return True
    error: Exception | str
    if broker_looks_down():
        error = "the broker was unreachable moments ago (GARDEN_BROKER_RETRY_AFTER_SECONDS)"
    else:
        try:
            current_app.tasks[RUN_JOB_TASK].apply_async(args=[str(job_id)], queue=queue)
        except Exception as exc:  # kombu OperationalError, socket errors, a full broker: the row stays queued
            error = exc
            _mark_down()
        else:
            _mark_up()
            return True
    log.warning("generation job %s: message not sent, the sweeper will send it again: %s", job_id, error)
    try:
        GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).update(send_failed=True)
    except Exception:  # never fail the caller: the sweeper re-sends after GARDEN_JOB_REQUEUE_AFTER_SECONDS anyway
        log.warning("generation job %s: could not mark the failed send", job_id, exc_info=True)
    return False
