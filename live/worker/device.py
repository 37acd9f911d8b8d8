"""The GPU worker's path for live pictures: the lean call's tensors post-processed on the card
(generation.device_post: watermark, the classifier's scores, JPEG), so only bytes and verdicts go
to the bookkeeping pool; and the live model warmed when the worker process starts, never in front
of a visitor (docs/live.md#on-a-gpu-worker).

GARDEN_LIVE_DEVICE_POST: ``auto`` takes this path where the live model's pipeline lies on a CUDA
device, ``on`` wherever the backend paints tensors (tests, on the CPU), ``off`` never. CPU workers
keep the ordinary path: the pool renders each picture with the CPU code.
"""

from __future__ import annotations

import logging

from django.conf import settings

log = logging.getLogger(__name__)


def uses_device(backend) -> bool:
    """Whether this call's pictures stay tensors and are post-processed where they were painted."""
    mode = settings.GARDEN_LIVE_DEVICE_POST
    if mode == "off" or not hasattr(backend, "generate_tensors"):
        return False
    if mode == "on":
        return True
    device = getattr(getattr(backend, "pipeline", None), "device", None)
    return getattr(device, "type", "") == "cuda"


def warm_at_start(queues) -> dict | None:
    """In a live worker's pool process, before its first job: load the live model and warm its lean
    call (CUDA graphs at the fixed batch sizes). Only where CUDA is present and warming is on; what
    it did, for the log. Runs on the thread that will launch the calls (Celery's prefork child runs
    its tasks on its main thread, and graphs replay only on the thread that captured them)."""
    if settings.GARDEN_LIVE_QUEUE not in queues or not settings.GARDEN_LIVE_WARM:
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    from generation.backends.lean import warm_live_model
    from live import selectors

    painter = selectors.live_painter()
    if painter is None or not painter.model:
        return None
    try:
        done = warm_live_model(model=painter.model, width=settings.GARDEN_LIVE_SIZE, height=settings.GARDEN_LIVE_SIZE)
    except Exception:  # a worker that cannot warm still paints (the ordinary call), and says why
        log.exception("could not warm the live model %s", painter.model)
        return None
    log.info("live model warmed: %s", done)
    return done
