"""Routed jobs looked at again (generation.dispatch.routing chooses; this acts): run by every worker every
GARDEN_ROUTE_CHECK_SECONDS (generation.tasks.Rerouter), database only.

A queued job whose message went to a host's own queue is reconsidered when its
``route_expires_at`` passes (its short wait at a busy warm host is over, or its message may have
expired there unread) or as soon as its host has no fresh presence (a worker killed, a machine
gone: kombu's Redis transport keeps an unacknowledged message in that host's queue, so moving the
job is the router's work). If the router still picks the same live host the message stays where
it is and only the next look is scheduled; otherwise a new message goes to the new queue.
Each step is one conditional UPDATE on what was read, so two workers' re-routers never both
send, and the message left behind is harmless: ``claim_job`` lets exactly one message run a job.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from generation.dispatch import enqueue as broker
from generation.dispatch import routing
from generation.dispatch.presence import MISSED_BEATS
from generation.models import GenerationJob, WorkerPresence

log = logging.getLogger(__name__)

BATCH = 200  # jobs looked at per tick at most; the next tick takes the rest


def live_host_names() -> set[str]:
    horizon = timezone.now() - timedelta(seconds=MISSED_BEATS * max(settings.GARDEN_WORKER_PRESENCE_SECONDS, 0.1))
    return set(WorkerPresence.objects.filter(seen_at__gte=horizon).exclude(host="").values_list("host", flat=True))


def reroute_jobs() -> int:
    """Reconsider every due routed job; returns how many got a new message."""
    if not settings.GARDEN_ROUTING:
        return 0
    now = timezone.now()
    routed = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False).exclude(routed_to="")
    if not routed.exists():
        return 0
    live = live_host_names()
    due = routed.filter(Q(route_expires_at__lte=now) | Q(route_expires_at__isnull=True) | ~Q(routed_to__in=live))
    sent = 0
    for job in due.order_by("created_at").only(*FIELDS)[:BATCH]:
        sent += _reconsider(job, gone=job.routed_to not in live)
    return sent


FIELDS = ("id", "queue", "background", "model", "model_id", "routed_to", "route_expires_at", "created_at")


def _reconsider(job: GenerationJob, *, gone: bool) -> int:
    now = timezone.now()
    same = GenerationJob.objects.filter(
        pk=job.pk, status=GenerationJob.Status.QUEUED, routed_to=job.routed_to, route_expires_at=job.route_expires_at
    )
    # Taken for this look: another worker's re-router reading the same row now updates nothing.
    hold = now + timedelta(seconds=settings.GARDEN_ROUTE_EXPIRES_SECONDS)
    if not same.update(route_expires_at=hold):
        return 0
    route = routing.choose(job, job.queue, waited=not gone)
    if route.host == job.routed_to and not gone:
        wait = route.wait if route.wait is not None else settings.GARDEN_ROUTE_EXPIRES_SECONDS
        GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.QUEUED, route_expires_at=hold).update(
            route_expires_at=now + timedelta(seconds=wait)
        )
        return 0
    if not GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.QUEUED, route_expires_at=hold).update(
        routed_to=route.host,
        route_expires_at=now + timedelta(seconds=route.wait if route.wait is not None else settings.GARDEN_ROUTE_EXPIRES_SECONDS)
        if route.host
        else None,
        enqueued_at=now,
        resends=F("resends") + 1,
    ):
        return 0
    why = f"its host {job.routed_to} stopped answering" if gone else "its wait is over"
    log.info("generation job %s: %s; sent to %s (%s)", job.pk, why, route.host or "the shared queue", route.why)
    broker.enqueue_job(job_id=job.pk, queue=job.queue, background=job.background, route=route)
    return 1


def route_again(*, job_id) -> bool:
    """A routed message of this job expired unread in its host's queue (the host was busy for
    GARDEN_ROUTE_EXPIRES_SECONDS, or gone): that message is no more, so the job gets a new one, routed
    afresh (it may well go to the same warm host). One conditional UPDATE first: of two workers told
    at once, one sends."""
    job = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).exclude(routed_to="").only(*FIELDS).first()
    if job is None:
        return False
    now = timezone.now()
    same = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.QUEUED, route_expires_at=job.route_expires_at)
    if not same.update(
        route_expires_at=now + timedelta(seconds=settings.GARDEN_ROUTE_EXPIRES_SECONDS), enqueued_at=now, resends=F("resends") + 1
    ):
        return False
    log.info("generation job %s: its message expired unread at %s; sent again", job.pk, job.routed_to)
    broker.enqueue_job(job_id=job.pk, queue=job.queue, background=job.background)
    return True
