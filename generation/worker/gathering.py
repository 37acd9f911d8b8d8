"""Which queued one-picture jobs a worker paints together in one call, and taking them from the queue.

A job is *gathered* (``gatherable``) when it paints one picture (kind ``images``, count 1) with no
option that needs a call of its own (a variation seed, bred recipes, a VAE, a hires fix), and
someone waits for it (``live``) or it paints in one step: such a call is bound by the Python around
the model, so several pictures in one call cost about what one does (an SD-Turbo bulk of single
pictures gains as a live picture does). It shares its call with the queued jobs of its queue
whose call would be the same but for the prompt, the seed and the start picture: same painter
and model, size, steps, guidance, negative prompt, LoRAs and options (``call_key``). The
procedural painter paints a call's one search key, so its jobs share a call only with that key.

Jobs are taken with ``claim_job`` (one conditional UPDATE each): a job this worker takes is claimed
exactly once; its own message, delivered later, finds it running or finished and paints nothing.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db.models import Q, QuerySet

from generation.backends import DIFFUSERS, hires
from generation.models import GenerationJob
from generation.worker.lifecycle import claim_job

# Options that differ per picture without changing the call: each picture's start picture (one per
# picture in the call), the liked key it came from, its lineage.
PER_PICTURE_OPTIONS = frozenset({"init_image", "from", "lineage"})
# Options that need the ordinary path (calls of their own).
OWN_PATH_OPTIONS = ("subseed", "recipes", "vae")
# How many queued jobs one look reads to find call mates.
CANDIDATES = 64
# What ``gatherable`` reads of a job.
GATHERABLE_COLUMNS = ("id", "kind", "count", "live", "steps", "options", "width", "height")
# The rows ``gatherable`` may accept (it reads the options on top): what a gathered run's next
# leader is picked among (generation.worker.claim.claim_next_leader).
MAY_GATHER = Q(kind=GenerationJob.Kind.IMAGES, count=1) & (Q(live=True) | Q(steps=1))


def gatherable(job: GenerationJob) -> bool:
    """A one-picture job whose call may be shared (see the module docstring)."""
    options = job.options or {}
    return (
        job.kind == GenerationJob.Kind.IMAGES
        and job.count == 1
        and (job.live or job.steps == 1)
        and not any(name in options for name in OWN_PATH_OPTIONS)
        and hires.for_picture(options, job.width, job.height) is None
    )


def call_key(job: GenerationJob) -> tuple:
    """Equal for two gatherable jobs that can be painted in one call."""
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


def gather(leader: GenerationJob, *, worker: str, skip: set | frozenset = frozenset()) -> list[GenerationJob]:
    """The claimed ``leader`` and, claimed, the queued jobs that share its call, up to
    GARDEN_GATHER_SIZE. It waits for nothing: the loop launches one call at a time, so what
    arrives during a call goes together in the next."""
    size = max(1, settings.GARDEN_GATHER_SIZE)
    if size == 1:
        return [leader]
    return [leader, *_claim_matching(call_key(leader), worker=worker, room=size - 1, taken={leader.pk, *skip})]


def _queued(queue: str, *, exclude: set | frozenset = frozenset()) -> QuerySet[GenerationJob]:
    jobs = GenerationJob.objects.claimable(queue).filter(kind=GenerationJob.Kind.IMAGES, count=1)
    return jobs.filter(attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS).exclude(pk__in=exclude).order_by("background", "created_at")


def _claim_matching(key: tuple, *, worker: str, room: int, taken: set) -> list[GenerationJob]:
    claimed: list[GenerationJob] = []
    for candidate in _queued(key[0], exclude=taken)[:CANDIDATES]:
        if len(claimed) >= room:
            break
        if gatherable(candidate) and call_key(candidate) == key:
            job = claim_job(job_id=candidate.pk, worker=worker)
            if job is not None:  # another worker's claim came first: not ours
                claimed.append(job)
    return claimed
