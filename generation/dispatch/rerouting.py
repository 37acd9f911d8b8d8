"""Routes chosen, recorded and looked at again (generation.dispatch.routing chooses; this acts):
``place`` reads the facts (generation.dispatch.route_facts), asks the pure choice and takes the
model's load lease when the route loads it; ``route_job`` records the route on the job's row.
``reroute_jobs`` is run by every worker every GARDEN_ROUTE_CHECK_SECONDS (generation.tasks.Rerouter),
database only.

A queued job whose message went to a host's own queue is reconsidered when its
``route_expires_at`` passes (its short wait at a busy warm host is over, or its message may have
expired there unread) or as soon as its host is not present (a worker killed, a machine
gone: kombu's Redis transport keeps an unacknowledged message in that host's queue, so moving the
job is the router's work). If the router still picks the same present host the message stays where
it is and only the next look is scheduled; otherwise a new message goes to the new queue.
Each step is one conditional UPDATE on what was read, so two workers' re-routers never both
send, and the message left behind is harmless: ``claim_job`` lets exactly one message run a job.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from config import chance
from generation.dispatch import enqueue as broker
from generation.dispatch import presence, route_facts, routing
from generation.models import GenerationJob, RouteLease

log = logging.getLogger(__name__)

BATCH = 200  # jobs looked at per tick at most; the next tick takes the rest


def take_lease(key: str, host: str, *, present: list[str], done: frozenset[str] = frozenset()) -> str:
    """Give ``host`` the load of ``key`` unless another lease holds it (a lease ends at its time,
    when its holder is not among the ``present`` hosts, or is in ``done``, those that hold the model
    already); returns the holder."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.GARDEN_ROUTE_LOAD_LEASE_SECONDS)
    key = key[:255]
    over = Q(until__lte=now) | Q(host__in=list(done)) | ~Q(host__in=present)
    if RouteLease.objects.filter(over, model=key).update(host=host, until=until):
        return host
    try:
        with transaction.atomic():
            RouteLease.objects.create(model=key, host=host, until=until)
        return host
    except IntegrityError:
        held = RouteLease.objects.filter(model=key).values_list("host", flat=True).first()
        return held or host


def place(
    job: GenerationJob,
    queue: str,
    *,
    copies: route_facts.HostsWithCopy = route_facts.hosts_with_copy,
    lora_copies: route_facts.HostsWithLoras = route_facts.hosts_with_loras,
    fetchable: Callable[[str], bool] = route_facts.stored,
    waited: bool = False,
    draws: random.Random | None = None,
) -> routing.Route:
    """Where ``job``'s message for ``queue`` goes now: the facts read, the choice made, and the
    model's load lease taken when the route loads it (``draws``: the chance stream, else
    config.chance's). Lost to another router at the same moment: chosen again with its holder."""
    if not settings.GARDEN_ROUTING or queue not in route_facts.routed_queues():
        return routing.Route(host="", queue=queue, why="shared queue")
    hosts = route_facts.serving_hosts(queue)
    if len(hosts) < 2:
        return routing.Route(host="", queue=queue, why="fewer than two hosts serve the queue", hosts=list(hosts.values()))
    needs = route_facts.wanted(job, copies=copies, lora_copies=lora_copies, fetchable=fetchable)
    draws = draws or chance.rng()
    rules = route_facts.rules()
    lease = route_facts.lease_holder(needs.key, hosts)
    route = routing.choose(needs, list(hosts.values()), queue=queue, lease=lease, chance=draws, rules=rules, waited=waited)
    if not route.loads:
        return route
    warm = frozenset(name for name, host in hosts.items() if needs.names & host.held)
    holder = take_lease(needs.key, route.host, present=list(hosts), done=warm)
    if holder == route.host:
        return route
    return routing.choose(needs, list(hosts.values()), queue=queue, lease=holder, chance=draws, rules=rules, waited=waited)


def route_job(*, job_id, queue: str, waited: bool = False) -> routing.Route:
    """Choose where the queued job's message goes and record it on its row (``routed_to``,
    ``route_expires_at``); the shared queue for a job that is not queued any more."""
    job = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).first()
    if job is None:
        return routing.Route(host="", queue=queue, why="not queued")
    route = place(job, queue, waited=waited)
    wait = route.wait if route.wait is not None else settings.GARDEN_ROUTE_EXPIRES_SECONDS
    GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).update(
        routed_to=route.host, route_expires_at=timezone.now() + timedelta(seconds=wait) if route.host else None
    )
    return route


def reroute_jobs() -> int:
    """Reconsider every due routed job; returns how many got a new message."""
    if not settings.GARDEN_ROUTING:
        return 0
    now = timezone.now()
    routed = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False).exclude(routed_to="")
    if not routed.exists():
        return 0
    present = presence.present_host_names()
    due = routed.filter(Q(route_expires_at__lte=now) | Q(route_expires_at__isnull=True) | ~Q(routed_to__in=present))
    sent = 0
    for job in due.order_by("created_at").only(*FIELDS)[:BATCH]:
        sent += _reconsider(job, gone=job.routed_to not in present)
    return sent


FIELDS = ("id", "queue", "background", "model", "model_id", "loras", "routed_to", "route_expires_at", "created_at")


def _reconsider(job: GenerationJob, *, gone: bool) -> int:
    now = timezone.now()
    same = GenerationJob.objects.filter(
        pk=job.pk, status=GenerationJob.Status.QUEUED, routed_to=job.routed_to, route_expires_at=job.route_expires_at
    )
    # Taken for this look: another worker's re-router reading the same row now updates nothing.
    hold = now + timedelta(seconds=settings.GARDEN_ROUTE_EXPIRES_SECONDS)
    if not same.update(route_expires_at=hold):
        return 0
    route = place(job, job.queue, waited=not gone)
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
