"""The live worker's start (docs/live.md#the-live-worker): before a worker serving GARDEN_LIVE_QUEUE
takes its first message, and before its presence says ready, the live painter is made ready in the
process that will paint: the library's live model loaded (and, on CUDA, its lean call's graphs
recorded or reused from the var folder: generation.backends.lean), or the procedural painter's first
picture painted. Its finishing processes are started by generation's own step (generation.worker.start).

Only a solo worker warms (``celery worker --pool solo``, the Procfile's ``live`` line): its main
thread paints, so what it loads is what its calls use. A prefork worker's main process must not
touch torch before it forks.
"""

from __future__ import annotations

import logging
import time

from celery import bootsteps
from django.conf import settings

from generation import backends
from generation.backends import Batch
from generation.backends.lean import warm_live_model
from live import selectors

log = logging.getLogger(__name__)


class LiveWarmUp(bootsteps.StartStopStep):
    requires = {"generation.worker.start:FinishingStep"}

    def start(self, worker):
        from generation.worker.start import solo

        if settings.GARDEN_LIVE_QUEUE not in worker.app.amqp.queues.consume_from or settings.CELERY_TASK_ALWAYS_EAGER:
            return
        if not solo(worker):
            log.warning("the live queue is served by a %s worker: run it with --pool solo to warm it", worker.pool_cls.__name__)
            return
        started = time.perf_counter()
        try:
            done = warm_up()
        except Exception:  # a worker that cannot warm still paints (its first visitor waits), and says why
            log.exception("could not warm the live painter")
            return
        log.info("live painter ready in %.1fs: %s", time.perf_counter() - started, done)


def warm_up() -> dict:
    """The live painter loaded and its first call made, in this process; what it did."""
    painter = selectors.live_painter()
    if painter is None:
        return {"painter": None}
    if painter.backend == backends.PROCEDURAL:
        size = settings.GARDEN_LIVE_SIZE
        backends.get_backend(backends.PROCEDURAL).generate(
            Batch(prompt="", negative_prompt="", width=size, height=size, steps=1, guidance=0.0, seeds=[0], emotion="calm")
        )
        return {"painter": backends.PROCEDURAL}
    size = settings.GARDEN_LIVE_SIZE
    return warm_live_model(model=painter.model, width=size, height=size, graphs=settings.GARDEN_LIVE_WARM)
