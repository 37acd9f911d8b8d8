"""Reading worker presence (``generation.services.presence`` writes it): which workers are up now,
from the database alone, with no broker round trip (health probes must answer in milliseconds)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from generation.models import WorkerPresence

# A worker unseen for this many beats (GARDEN_WORKER_PRESENCE_SECONDS each) is gone.
MISSED_BEATS = 3


def present_workers(*, gpu: bool | None = None) -> list[WorkerPresence]:
    """Workers seen within the last MISSED_BEATS beats, by name; ``gpu=True``: only those on GARDEN_GPU_QUEUE."""
    horizon = timezone.now() - timedelta(seconds=MISSED_BEATS * max(settings.GARDEN_WORKER_PRESENCE_SECONDS, 0.1))
    rows = WorkerPresence.objects.filter(seen_at__gte=horizon)
    if gpu is not None:
        rows = rows.filter(gpu=gpu)
    return list(rows.order_by("name"))
