"""Reading worker presence (``generation.dispatch.beacon`` writes it): which workers are up now,
and on which hosts with which cards, from the database alone, with no broker round trip (health
probes must answer in milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class PresentHost:
    """A host (GARDEN_HOST_NAME) with workers seen now: what the System status page lists."""

    name: str
    workers: list[WorkerPresence]
    queues: list[str]  # every queue its workers take, its own host queues included
    cards: list[dict]  # each card once (by uuid, else by index and name), as its workers said them
    models: list[str]  # held in memory by any of its workers


def present_hosts() -> list[PresentHost]:
    """Every host with a worker seen within MISSED_BEATS beats, by name (one query)."""
    by_host: dict[str, list[WorkerPresence]] = {}
    for row in present_workers():
        by_host.setdefault(row.host or "—", []).append(row)
    hosts = []
    for name, rows in sorted(by_host.items()):
        cards: dict[tuple, dict] = {}
        for row in rows:
            for card in row.details.get("cards") or []:
                cards.setdefault((card.get("uuid") or "", card.get("index"), card.get("name")), card)
        hosts.append(
            PresentHost(
                name=name,
                workers=rows,
                queues=sorted({queue for row in rows for queue in row.queues}),
                cards=sorted(cards.values(), key=lambda card: (card.get("index") is None, card.get("index") or 0)),
                models=sorted({model for row in rows for model in row.models_loaded or []}),
            )
        )
    return hosts
