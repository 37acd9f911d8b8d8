"""Which live jobs a live worker paints together, and taking them from the queue.

A live job (``GenerationJob.live``, one picture) shares a pipeline call with the other queued live jobs of
its queue whose call would be the same but for the prompt, the seed and the start picture: same
painter and model, size, steps, guidance, negative prompt, LoRAs and options (``batch_key``). The
procedural painter paints a batch's one search key, so its jobs share a call only with that key;
it has no model call to share, and never waits for more. A job with a variation seed, bred
recipes, a VAE or a hires fix runs alone, as any job (generation.services.runner).

Jobs are taken with claim_job (generation.worker_api) (one conditional UPDATE each): a job this worker takes is
claimed exactly once; its own message, delivered later, finds it running or finished and paints
nothing.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.utils import timezone

from generation.worker_api import DIFFUSERS, GenerationJob, claim_job, hires_fix

# Options that differ per picture without changing the call: each picture's start picture (one per
# picture in the call), the liked key it came from, its lineage.
PER_PICTURE_OPTIONS = frozenset({"init_image", "from", "lineage"})
# Options that need the ordinary path (calls of their own).
OWN_PATH_OPTIONS = ("subseed", "recipes", "vae")
# How many queued jobs one look reads to find batch mates.
CANDIDATES = 64


def takes_live_path(job: GenerationJob) -> bool:
    """A live job of one picture whose call may be shared (see the module docstring)."""
    options = job.options or {}
    return (
        job.live
        and job.kind == GenerationJob.Kind.IMAGES
        and job.count == 1
        and not any(name in options for name in OWN_PATH_OPTIONS)
        and hires_fix(options, job.width, job.height) is None
    )


def batch_key(job: GenerationJob) -> tuple:
    """Equal for two live jobs that can be painted in one call."""
    options = {name: value for name, value in (job.options or {}).items() if name not in PER_PICTURE_OPTIONS}
    key: tuple = (
        job.queue,
        job.backend,
        job.model,
        job.width,
        job.height,
        job.steps,
        job.guidance,
        job.negative_prompt,
        json.dumps(job.loras or [], sort_keys=True),
        json.dumps(options, sort_keys=True),
        "init_image" in (job.options or {}),
    )
    if job.backend != DIFFUSERS:
        key += (job.emotion, job.favorite)
    return key


def gather(leader: GenerationJob, *, worker: str, card_busy: bool = False) -> list[GenerationJob]:
    """The claimed ``leader`` and, claimed, the queued live jobs that share its call, up to
    GARDEN_LIVE_BATCH_SIZE. A batch goes as soon as the card is free: only while a call is running
    (``card_busy``) does the leader wait until GARDEN_LIVE_BATCH_WINDOW_SECONDS have passed since
    its request, for more to join it; a free card paints what is queued at once."""
    size = max(1, settings.GARDEN_LIVE_BATCH_SIZE)
    if size == 1:
        return [leader]
    window = settings.GARDEN_LIVE_BATCH_WINDOW_SECONDS if card_busy and leader.backend == DIFFUSERS else 0.0
    remaining = window - (timezone.now() - leader.created_at).total_seconds()
    if remaining > 0:
        time.sleep(remaining)
    return [leader, *_claim_matching(batch_key(leader), worker=worker, room=size - 1, taken={leader.pk})]


def next_batch(*, queue: str, worker: str, card_busy: bool = False) -> list[GenerationJob]:
    """The oldest queued live job of ``queue`` that this worker could claim, and its batch mates; [] when none."""
    for candidate in _queued(queue, limit=CANDIDATES):
        if takes_live_path(candidate) and (leader := claim_job(job_id=candidate.pk, worker=worker)) is not None:
            return gather(leader, worker=worker, card_busy=card_busy)
    return []


def _queued(queue: str, *, limit: int, exclude: set | frozenset = frozenset()) -> list[GenerationJob]:
    jobs = GenerationJob.objects.filter(
        status=GenerationJob.Status.QUEUED,
        queue=queue,
        live=True,
        kind=GenerationJob.Kind.IMAGES,
        cancel_requested=False,
        attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS,
    )
    return list(jobs.exclude(pk__in=exclude).order_by("created_at")[:limit])


def _claim_matching(key: tuple, *, worker: str, room: int, taken: set) -> list[GenerationJob]:
    claimed: list[GenerationJob] = []
    for candidate in _queued(key[0], limit=CANDIDATES, exclude=taken):
        if len(claimed) >= room:
            break
        if takes_live_path(candidate) and batch_key(candidate) == key:
            job = claim_job(job_id=candidate.pk, worker=worker)
            if job is not None:  # another worker's claim came first: not ours
                claimed.append(job)
    return claimed
