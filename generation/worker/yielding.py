"""Foreground before background (docs/generation.md#foreground-before-background): a background job
(the gardener's) paints in calls of at most GARDEN_BACKGROUND_CALL_PICTURES pictures
(``call_size`` in generation.planning, read by its job_batches) and, between two calls, gives its
worker up while a foreground job (an SD client's, a curator's, a kiosk's) waits on a queue the
worker serves (``give_way``).

A yield is not a failure: the job goes back to ``queued`` with the attempt it used given back, its
stored pictures kept and attached, its progress (images and steps done) as it was; the message that
ran it comes back through the task's pass-on retry (generation.tasks), and the claim that takes it
again paints only the pictures still to paint (generation.worker.runner skips stored keys). Each
claim paints at least one call before it may yield, so a background job always moves on.
"""

from __future__ import annotations

import logging

from django.conf import settings

from generation.dispatch import presence
from generation.models import GenerationJob
from generation.worker.attempt import Attempt

log = logging.getLogger(__name__)


class Yielded(Exception):  # an outcome, not an error
    """The background job gave its worker up between two calls; it is queued again."""


def may_yield(job: GenerationJob) -> bool:
    """A background job run by a worker's message (not `manage.py generate`, not an eager task)."""
    return job.background and bool(job.message_id) and settings.GARDEN_BACKGROUND_YIELD


def served_queues(job: GenerationJob) -> list[str]:
    """The queues the job's worker takes messages from (its presence row), its own queue at least."""
    queues = presence.present_rows().filter(name=job.worker).values_list("queues", flat=True).first() or []
    return sorted({job.queue, *queues})


def foreground_waiting(queues: list[str]) -> bool:
    """A foreground job is queued on one of ``queues`` and may still be claimed (one indexed look)."""
    return (
        GenerationJob.objects.claimable().filter(queue__in=queues, background=False, attempts__lt=settings.GARDEN_JOB_MAX_ATTEMPTS).exists()
    )


def give_way(job: GenerationJob, attempt: Attempt, *, timings: dict) -> None:
    """Between two calls of ``job`` (``attempt``: its attempt): raise Yielded once the job is queued
    again for a waiting foreground job (``Attempt.give_way``); return to paint on otherwise. A job
    whose cancel was asked paints on into its next call's cancel check (toolbox.StepReporter)."""
    if not may_yield(job) or not foreground_waiting(served_queues(job)):
        return
    timings["yields"] = timings.get("yields", 0) + 1
    if not attempt.give_way(timings=timings):
        timings["yields"] -= 1
        return
    log.info("generation job %s: yields to a waiting foreground job after %d pictures", job.pk, job.images.count())
    raise Yielded
