"""Which job a worker paints when a message reaches it (docs/scaling.md#which-job-a-worker-takes).

A job's message is a wake-up call for one job of its queue, not for the job it names: the worker
it reaches claims the queued job of that queue it paints best now (generation.worker.claim.claim_next,
in the order ``looks`` reads). A gathered run's next call is led by the first gatherable job in
the same order (generation.worker.claim.claim_next_leader): one picker for both. ``pull_order`` is
that choice as a pure function of plain values, tested as a table:

0. never a job whose library files are not on this host, nor in the venue's store, while a present
   worker of the queue is on a host that has them (that worker takes it);
1. foreground before background (the gardener's jobs, as their messages' priority says);
2. a *cold* job first once it has waited GARDEN_PULL_AGE_LIMIT_SECONDS: no present worker of the
   queue holds its model or is loading it, so no warm worker will ever prefer it;
3. then a job whose model this worker holds in memory (no load);
4. then the rest, oldest first within each rung.

So a model is loaded where a free worker has nothing warm to do, and a job is never bound to a host
that may freeze. Exactly-once stays with the claim (``generation.worker.lifecycle.claim_job``, one
conditional UPDATE per try): as long as each queued job has a message, every message that claims
one leaves one message per job still queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from generation.dispatch import presence
from generation.models import GenerationJob
from library import selectors as library
from library.hosts import host_name

CANDIDATES = 50  # queued jobs read per look: the queue's oldest, foreground first
# A message whose job only another host can paint (rule 0) is sent on after this long, so that
# host's worker gets a message for it once it is free (the message is its job's only one).
PASS_ON_SECONDS = 2.0


@dataclass(frozen=True)
class Queued:
    """A queued job as the choice sees it."""

    id: object
    names: frozenset[str]  # every name its model is known by (the library's name, a path or hub id)
    background: bool  # the gardener's
    waited: float  # seconds since it was created
    here: bool = True  # this worker can get its files, or no present worker can (see rule 0)


def pull_order(queued: list[Queued], *, mine: frozenset[str], anyone: frozenset[str], age_limit: float) -> list:
    """The ids of ``queued`` in the order a worker holding models ``mine`` tries to claim them
    (``anyone``: the models held or loading on any present worker of the queue, ``mine`` included)."""

    def rank(job: Queued) -> tuple:
        cold_too_long = job.waited >= age_limit and not job.names & anyone
        return (job.background, not cold_too_long, not job.names & mine, -job.waited)

    return [job.id for job in sorted(queued, key=rank) if job.here]


def looks(queue: str, *, mine: frozenset[str], among: Q | None = None, skip: Iterable = ()):
    """The queued jobs of ``queue`` in the order a worker holding models ``mine`` tries to claim them,
    one look (up to CANDIDATES jobs) at a time: a caller whose every claim of a look lost to other
    workers asks for the next, which leaves out the jobs already offered. ``among``: only the jobs
    it matches (a gathered run's: the gatherable ones); ``skip``: jobs never offered. Reads; claims
    nothing (generation.worker.claim does)."""
    serving = None  # the presence rows, read once there is something to order (most looks find nothing)
    tried: set = set(skip)
    while rows := _queued_rows(queue, tried, among):
        if serving is None:
            serving = _serving(queue)
        held, hosts = serving
        queued = _queued(rows, hosts)
        tried |= {job.id for job in queued}
        yield pull_order(queued, mine=mine, anyone=mine | held, age_limit=settings.GARDEN_PULL_AGE_LIMIT_SECONDS)


def _queued_rows(queue: str, tried: set, among: Q | None) -> list[tuple]:
    jobs = GenerationJob.objects.claimable(queue)
    if among is not None:
        jobs = jobs.filter(among)
    if tried:
        jobs = jobs.exclude(pk__in=tried)
    columns = ("id", "model", "model_id", "loras", "background", "created_at")
    return list(jobs.order_by("background", "created_at").values_list(*columns)[:CANDIDATES])


def _queued(rows: list[tuple], hosts: frozenset[str]) -> list[Queued]:
    now = timezone.now()
    here = _FilesHere(hosts)
    return [
        Queued(
            id=pk,
            names=frozenset({model, model_id} - {""}),
            background=background,
            waited=(now - created).total_seconds(),
            here=here.files(model, tuple(lora.get("name", "") for lora in loras or [] if lora.get("name"))),
        )
        for pk, model, model_id, loras, background, created in rows
    ]


def _serving(queue: str) -> tuple[frozenset[str], frozenset[str]]:
    """The models held or loading on the present workers of ``queue``, and their hosts (presence rows)."""
    rows = [row for row in presence.present_rows().only("queues", "host", "models_loaded", "model_loading") if queue in (row.queues or [])]
    held = frozenset(name for row in rows for name in [*(row.models_loaded or []), row.model_loading] if name)
    return held, frozenset(row.host for row in rows if row.host)


class _FilesHere:
    """Whether this worker's host can paint a job's library model and LoRAs (rule 0): on its disk,
    in the store, not a library file at all, or on no present host of the queue either (then
    whoever claims it fails it with its reason, rather than leave it queued). One look per name."""

    def __init__(self, hosts: frozenset[str]) -> None:
        self.host, self.hosts = host_name(), hosts
        self.known: dict[tuple[str, str], bool] = {}

    def files(self, model: str, loras: tuple[str, ...]) -> bool:
        return (not model or self._one("model", model)) and all(self._one("lora", lora) for lora in loras)

    def _one(self, kind: str, name: str) -> bool:
        if (kind, name) not in self.known:
            try:
                entry = library.resolve_model(name) if kind == "model" else library.resolve_lora(name)
            except library.UnknownEntry:  # a path or a hub id: any worker may load it
                self.known[kind, name] = True
            else:
                holders = library.hosts_with_copy(entry.pk)
                self.known[kind, name] = self.host in holders or library.fetchable(entry) or not holders & self.hosts
        return self.known[kind, name]
