"""Celery task for A1111's Extras (a1111.extras): a library upscaler run on a GPU worker.

The web process never imports torch: it writes the picture to the private upload storage
(retouch.uploads), sends this task to the GPU queue and waits for ``result`` (or ``error``, the
reason as text) to appear there, then deletes all three. A request that gave up first has deleted
``source``: the task then deletes what it wrote.
"""

from __future__ import annotations

import io
import logging

from celery import shared_task

log = logging.getLogger(__name__)
UPSCALE_TASK = "a1111.upscale_picture"


def _device() -> str:
    import torch
    from django.conf import settings

    if settings.GARDEN_DIFFUSION_DEVICE != "auto":
        return settings.GARDEN_DIFFUSION_DEVICE
    return "cuda" if torch.cuda.is_available() else "cpu"


@shared_task(name=UPSCALE_TASK, ignore_result=True)
def upscale_picture(*, source: str, result: str, error: str, upscaler: str, width: int, height: int) -> None:
    from PIL import Image as PILImage

    from generation.backends import upscalers
    from library import cache as library_cache
    from library import selectors as library
    from retouch import uploads

    try:
        entry = library.resolve_upscaler(upscaler)
        with PILImage.open(io.BytesIO(uploads.read_upload(source))) as opened:
            picture = opened.convert("RGB")
        done = upscalers.upscale(picture, width, height, upscaler=entry.name, path=str(library_cache.local_path(entry)), device=_device())
        buffer = io.BytesIO()
        done.save(buffer, "PNG")
        uploads.write_upload(key=result, content=buffer.getvalue())
    except Exception as exc:  # the waiting request answers with the reason
        log.warning("extras upscale with %s failed", upscaler, exc_info=True)
        uploads.write_upload(key=error, content=f"{type(exc).__name__}: {exc}".encode())
    if not uploads.upload_storage().exists(source):  # the request gave up (GARDEN_A1111_WAIT_SECONDS): nobody reads it
        uploads.delete_uploads([result, error])
