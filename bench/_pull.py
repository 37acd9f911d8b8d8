"""Pull dispatch, the design measured against routing (issue 89; bench/library_routing.py's ``pull``
scenario runs it, docs/scaling.md gives the figures): every message of a queue is a wake-up call
for one job, not for the job it names. The worker it reaches claims the queued job of that queue it
paints best now: the oldest whose model it holds in memory, else the oldest; a job whose model no
present worker holds or loads (a cold model) goes first once it has waited ``age_limit`` seconds,
so a steady stream of warm work never starves it. No host queues, expiries, re-router or load
leases: a model loads where a free worker has nothing warm to do, and a job is never bound to a
host that may freeze. Exactly-once stays with the claim (one conditional UPDATE per try).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from generation.dispatch import presence
from generation.models import GenerationJob

CANDIDATES = 50  # queued jobs looked at per claim: the oldest of the queue


@dataclass(frozen=True)
class Queued:
    id: object
    names: frozenset[str]  # every name its model is known by (library name, path or hub id)
    background: bool  # the gardener's: after every other job, as its message's priority says
    waited: float  # seconds since it was queued


def pull_order(queued: list[Queued], *, mine: frozenset[str], anyone: frozenset[str], age_limit: float) -> list:
    """The ids in the order a worker holding ``mine`` tries to claim them (``anyone``: the models
    held or loading on any present worker of the queue): cold jobs past ``age_limit`` first, then
    jobs for its own models, then the rest; oldest first within each, foreground before background."""

    def rank(job: Queued) -> tuple:
        starved = job.waited >= age_limit and not job.names & anyone
        return (job.background, not starved, not job.names & mine, -job.waited)

    return [job.id for job in sorted(queued, key=rank)]


def claim_next(*, job_id, worker: str, mine: frozenset[str], claim: Callable, age_limit: float) -> GenerationJob | None:
    """Claim, for the message of ``job_id``, the job of its queue this worker paints best now
    (``claim``: the lifecycle's conditional claim of one job, tried in ``pull_order`` until one
    succeeds). A message whose own job is no longer queued first tries that job (a running job
    whose lease expired is resumed as before), then pulls like any other."""
    named = GenerationJob.objects.filter(pk=job_id).values_list("queue", "status").first()
    if named is None:
        return None
    queue, status = named
    if status != GenerationJob.Status.QUEUED and (job := claim(job_id=job_id, worker=worker)) is not None:
        return job
    now = timezone.now()
    rows = (
        GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False, queue=queue)
        .order_by("created_at")
        .values_list("id", "model", "model_id", "background", "created_at")[:CANDIDATES]
    )
    queued = [
        Queued(id=pk, names=frozenset(n for n in (model, model_id) if n), background=background, waited=(now - created).total_seconds())
        for pk, model, model_id, background, created in rows
    ]
    anyone = frozenset(
        name
        for row in presence.present_rows().only("queues", "models_loaded", "model_loading")
        if queue in (row.queues or [])
        for name in [*(row.models_loaded or []), row.model_loading]
        if name
    )
    for pk in pull_order(queued, mine=mine, anyone=anyone | mine, age_limit=age_limit):
        if (job := claim(job_id=pk, worker=worker)) is not None:
            return job
    return claim(job_id=job_id, worker=worker) if status == GenerationJob.Status.QUEUED else None  # beyond the candidates
