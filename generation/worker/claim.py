"""The claim of the job a message's worker paints (docs/scaling.md#which-job-a-worker-takes): the
order is generation.dispatch.pull's (it reads, this claims), each try one conditional UPDATE
(generation.worker.lifecycle.claim_job), so every queued job is claimed exactly once."""

from __future__ import annotations

from generation.dispatch import pull
from generation.models import GenerationJob
from generation.worker.lifecycle import claim_job


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
    from generation import backends  # the painting process's models: torch only where a job runs

    mine = frozenset(backends.loaded_pipelines.loaded_names())
    for look in pull.looks(queue, mine=mine):
        for pk in look:
            if (job := claim_job(job_id=pk, worker=worker, message=message)) is not None:
                return job
    return None


def job_of_message(message: str):
    """The running job that ``message`` (a Celery task id) claimed, if any."""
    if not message:
        return None
    return GenerationJob.objects.running().filter(message_id=message).values_list("pk", flat=True).first()
