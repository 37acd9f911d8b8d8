"""Reading worker presence, the one reader (``generation.dispatch.beacon`` writes it): which
workers are present now, on which hosts with which cards and models, from the database alone, with
no broker round trip (health probes must answer in milliseconds).

"Present" is the one word for a worker or host seen recently enough: within MISSED_BEATS beats
(``present_since``), or within a caller's own window (``within``: the live app's
GARDEN_LIVE_WORKER_SECONDS). A present worker is "ready" once it takes messages; before that it
says it is warming.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from generation.models import WorkerPresence
from library.models import LibraryEntry

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


LORA_MARK = "+lora:"  # what joins a model's name and a LoRA's in models_loaded (generation.backends.loras.lora_key)


def shown_model(name: str, library: dict[str, str]) -> str:
    """The one name the status page shows for ``name``, one of the names a worker advertises a model
    in memory by (its path, its library name, a LoRA on it): the library's name where ``library``
    (entry path relative to a host's models folder → entry name) knows the path, else the folder or
    file name. A host's models folder differs, so a path is matched by its tail."""
    model, mark, lora = name.partition(LORA_MARK)
    if mark:
        return f"{shown_model(model, library)} + {lora}"
    if name in library.values() or not name.startswith("/"):
        return name  # a library name, a hub id or a painter's own name
    path = PurePosixPath(name.rstrip("/"))
    for tail in (PurePosixPath(*path.parts[index:]) for index in range(1, len(path.parts))):
        if str(tail) in library:
            return library[str(tail)]
    return path.name


def shown_models(names: Iterable[str], library: dict[str, str]) -> list[str]:
    """Each model in memory once, however many names it is advertised by (``shown_model``)."""
    return sorted({shown_model(name, library) for name in names})


def library_names() -> dict[str, str]:
    """Every library model's path (relative to GARDEN_MODELS_DIR) → its name, one query."""
    return {
        path.rstrip("/"): name for path, name in LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE).values_list("path", "name")
    }


@dataclass(frozen=True)
class WorkerModels:
    """The models one worker holds in memory, each once."""

    worker: str
    models: list[str]


@dataclass(frozen=True)
class PresentHost:
    """A host (GARDEN_HOST_NAME) with workers present now: what the System status page lists."""

    name: str
    workers: list[WorkerPresence]
    queues: list[str]  # every queue its workers take, its own host queues included
    cards: list[dict]  # each card once (by uuid, else by index and name), as its workers said them
    models: list[WorkerModels]  # per worker that holds any: a model two workers hold is in each worker's memory


def present_hosts() -> list[PresentHost]:
    """Every host with a worker present now, by name (two queries: the rows, the library's names)."""
    by_host: dict[str, list[WorkerPresence]] = {}
    for row in present_workers():
        by_host.setdefault(row.host or "—", []).append(row)
    library = library_names() if any(row.models_loaded for rows in by_host.values() for row in rows) else {}
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
                models=[WorkerModels(row.name, shown_models(row.models_loaded, library)) for row in rows if row.models_loaded],
            )
        )
    return hosts
