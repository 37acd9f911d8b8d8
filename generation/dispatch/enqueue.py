"""Sending a job's message to its Celery queue.

Services enqueue through this module and never import ``generation.tasks`` (the tasks import the
services): the task is looked up by name in the Celery app's registry, which the generation app
fills when it starts (``GenerationConfig.ready`` imports the tasks module). Looking it up, rather
than ``send_task``, keeps ``CELERY_TASK_ALWAYS_EAGER`` working.

The job row is the truth, the message only a wake-up call (for one job of its queue, the one the
worker it reaches paints best: generation.dispatch.pull): a send that fails (the broker is down
or unreachable) never fails the caller. It is logged and ``enqueue_job`` says False; the caller
(generation.worker.lifecycle.send_message) marks the row ``send_failed`` and the sweeper sends it
again at its next run. This module writes no job row. Sends are bounded (``GARDEN_BROKER_TIMEOUT_SECONDS`` to
connect, ``CELERY_TASK_PUBLISH_RETRY_POLICY``), and after a failure this process does not try
again for ``GARDEN_BROKER_RETRY_AFTER_SECONDS``, so a web request is never held for long while
the broker is down.

Background jobs (the gardener's) are sent at BACKGROUND_PRIORITY on Redis: kombu keeps a list per
priority step of each queue and a worker pops the lists in priority order (0 first), so a waiting
staff or kiosk job always goes before a waiting gardener job on the same queue, without a queue or
worker of their own. Other brokers get no priority (RabbitMQ's needs queues declared with
``x-max-priority`` and counts the other way; the filesystem broker has none): there
``GARDEN_GARDENER_QUEUE`` keeps the gardener's backlog apart (docs/gardener.md).
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

# kombu's Redis transport: 0 is the most urgent of its priority steps (0, 3, 6, 9), and a message
# without one is 0.
BACKGROUND_PRIORITY = 9

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


def _priority(background: bool) -> dict:
    if background and settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return {"priority": BACKGROUND_PRIORITY}
    return {}


def enqueue_job(*, job_id, queue: str, background: bool = False) -> bool:
    """Send the job's message to ``queue`` (a ``background`` job's below the others, see above);
    False (logged) when the broker refused it."""
    if settings.CELERY_TASK_ALWAYS_EAGER:  # runs the task here, no broker involved
        current_app.tasks[RUN_JOB_TASK].apply_async(args=[str(job_id)], queue=queue)
        return True
    error: Exception | str
    if broker_looks_down():
        error = "the broker was unreachable moments ago (GARDEN_BROKER_RETRY_AFTER_SECONDS)"
    else:
        try:
            current_app.tasks[RUN_JOB_TASK].apply_async(args=[str(job_id)], queue=queue, **_priority(background))
        except Exception as exc:  # kombu OperationalError, socket errors, a full broker: the row stays queued
            error = exc
            _mark_down()
        else:
            _mark_up()
            return True
    log.warning("generation job %s: message not sent, the sweeper will send it again: %s", job_id, error)
    return False
