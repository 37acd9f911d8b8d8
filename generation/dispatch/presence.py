"""Reading worker presence, the one reader (``generation.dispatch.beacon`` writes it): which
workers are present now, on which hosts with which cards and models, from the database alone, with
no broker round trip (health probes must answer in milliseconds).

"Present" is the one word for a worker or host seen recently enough: within MISSED_BEATS beats
(``present_since``), or within a caller's own window (``within``: the live app's
GARDEN_LIVE_WORKER_SECONDS). A present worker is "ready" once it takes messages; before that it
says it is warming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from generation.models import WorkerPresence

# A worker unseen for this many beats (GARDEN_WORKER_PRESENCE_SECONDS each) is gone.
MISSED_BEATS = 3
WARMING, READY = "warming", "ready"  # a worker's state in its presence row (details["state"])


def present_since(*, within: float | None = None) -> datetime:
    """The oldest beat that still counts: MISSED_BEATS beats ago, or ``within`` seconds ago."""
    seconds = MISSED_BEATS * max(settings.GARDEN_WORKER_PRESENCE_SECONDS, 0.1) if within is None else within
    return timezone.now() - timedelta(seconds=seconds)


def present_rows(*, within: float | None = None) -> QuerySet[WorkerPresence]:
    """The presence rows of the workers present now (see ``present_since``)."""
    return WorkerPresence.objects.filter(seen_at__gte=present_since(within=within))


def is_ready(row: WorkerPresence) -> bool:
    """The worker takes messages (a row of a release before the states says none: ready)."""
    return (row.details or {}).get("state", READY) == READY


def present_workers(*, gpu: bool | None = None) -> list[WorkerPresence]:
    """Workers present now, by name; ``gpu=True``: only those on GARDEN_GPU_QUEUE."""
    rows = present_rows()
    if gpu is not None:
        rows = rows.filter(gpu=gpu)
    return list(rows.order_by("name"))


def present_host_names() -> set[str]:
    """The hosts (GARDEN_HOST_NAME) with a worker present now."""
    return set(present_rows().exclude(host="").values_list("host", flat=True))


def ready_worker_serves(queue: str, *, within: float | None = None) -> bool:
    """A worker present now (``within`` seconds, else MISSED_BEATS beats) takes ``queue`` and is ready."""
    # A handful of rows: the queue lists are read here rather than with a JSON lookup per database.
    return any(queue in (row.queues or []) and is_ready(row) for row in present_rows(within=within).only("queues", "details"))


@dataclass(frozen=True)
class PresentHost:
    """A host (GARDEN_HOST_NAME) with workers present now: what the System status page lists."""

    name: str
    workers: list[WorkerPresence]
    queues: list[str]  # every queue its workers take, its own host queues included
    cards: list[dict]  # each card once (by uuid, else by index and name), as its workers said them
    models: list[str]  # held in memory by any of its workers


def present_hosts() -> list[PresentHost]:
    """Every host with a worker present now, by name (one query)."""
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
