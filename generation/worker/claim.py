"""The claims of a worker (docs/scaling.md#which-job-a-worker-takes), chosen by who asks:

- ``claim_named``: the job itself, no choice (`manage.py generate`, an eager task, tests);
- ``claim_next``: a message's worker, the job of its queue it paints best now;
- ``claim_next_leader``: a gathered run's next call, the first gatherable job in that same order.

The order is generation.dispatch.pull's (it reads, this claims; foreground first, files here), each
try one conditional UPDATE (generation.worker.lifecycle.claim_job), so every queued job is claimed
exactly once."""

from __future__ import annotations

from generation.dispatch import pull
from generation.models import GenerationJob
from generation.worker import gathering
from generation.worker.lifecycle import claim_job


def claim_named(*, job_id, worker: str) -> GenerationJob | None:
    """The job ``job_id`` itself, claimed; None when it is not runnable."""
    return claim_job(job_id=job_id, worker=worker)


def claim_next(*, job_id, worker: str, message: str = "") -> GenerationJob | None:
    """Claim, for the message naming ``job_id``, the job of its queue this worker paints best now;
    None when no job of the queue is left to claim. The named job is tried first when it is not
    queued (a running job whose lease expired is resumed, as a redelivered message always did)."""
    named = GenerationJob.objects.filter(pk=job_id).values_list("queue", "status").first()
    if named is None:
        return None
    queue, status = named
    if status != GenerationJob.Status.QUEUED and (job := claim_job(job_id=job_id, worker=worker, message=message)) is not None:
        return job
    for look in pull.looks(queue, mine=_models_here()):
        for pk in look:
            if (job := claim_job(job_id=pk, worker=worker, message=message)) is not None:
                return job
    return None


def claim_next_leader(*, queue: str, worker: str, skip: set | frozenset = frozenset()) -> GenerationJob | None:
    """The gatherable job of ``queue`` this worker paints best now (the order ``claim_next`` claims
    in), claimed; None when none is left. ``skip``: jobs the run requeued (their retry goes through
    their message)."""
    for look in pull.looks(queue, mine=_models_here(), among=gathering.MAY_GATHER, skip=skip):
        # Only the columns ``gatherable`` reads (the loop looks once per call; the claim reads the row).
        read = GenerationJob.objects.filter(pk__in=look).only(*gathering.GATHERABLE_COLUMNS).in_bulk()
        for pk in look:
            if gathering.gatherable(read[pk]) and (leader := claim_job(job_id=pk, worker=worker)) is not None:
                return leader
    return None


def _models_here() -> frozenset[str]:
    from generation import backends  # the painting process's models: torch only where a job runs

    return frozenset(backends.loaded_pipelines.loaded_names())


def job_of_message(message: str):
    """The running job that ``message`` (a Celery task id) claimed, if any."""
    if not message:
        return None
    return GenerationJob.objects.running().filter(message_id=message).values_list("pk", flat=True).first()
