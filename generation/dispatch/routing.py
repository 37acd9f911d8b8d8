"""Where a job's message goes: to the host whose worker holds its model (docs/scaling.md#jobs-where-their-model-is-warm).

Every worker of a routed queue (GARDEN_GPU_QUEUE, the live queue) also consumes that queue's
own queue for its host, ``<queue>.<host>`` (``host_queue``), and says in its presence row which
models it holds in memory and which it is loading. A job for model M goes, in this order:

1. to a free host that holds M or is loading it (a warm worker: no load at all);
2. while every such host is busy: it waits there; if another host is free, it waits only
   GARDEN_ROUTE_WAIT_SECONDS randomised up to twice that (so jobs sent together do not all move at
   once, Ray Serve's rule), or not at all once GARDEN_ROUTE_SPILL_BACKLOG jobs wait per warm worker,
   and then the free host loads M too (a second copy of a hot model, made only where a card would
   otherwise stand idle, never by displacing a busy card's model);
3. no host holds M: a host with M's file on disk (``hosts_with_copy``; with the job's LoRAs too,
   ``hosts_with_loras``, first), else the least loaded host. When the store holds M (``stored``:
   any host can fetch it) the least loaded host with the fewest models comes first and a copy on
   disk only breaks ties: sending every cold model to the one host that has the files would make it
   swap models on every job while the other card stands idle
   (fewest jobs, then fewest models held, then by chance), which takes M's load lease
   (``RouteLease``): until it expires or the host holds M, M's other jobs follow it there, so one
   model loads once across the venue however many jobs for it arrive together.

A job with LoRAs counts a host warm for it by the model alone (the model's load is what costs), and
among warm hosts prefers one whose worker holds the model with those LoRAs loaded (advertised as
``lora_key``: ``<model>+lora:<name>``), so the one-load-per-model and warm-worker rules hold for a
model with its LoRAs as for the model.

With fewer than two hosts serving the queue nothing is routed: the message goes to the shared
queue as before (``make run``'s one worker). The row says where the message went
(``routed_to``) and when to look again (``route_expires_at``); the workers' re-router
(``generation.dispatch.rerouting``) sends it elsewhere when that time comes or its host is gone.
Exactly-once stays with ``claim_job``: a message left behind in a host's queue finds its job claimed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from generation.dispatch.presence import MISSED_BEATS
from generation.models import GenerationJob, RouteLease, WorkerPresence
from library import selectors as library_selectors

HostsWithCopy = Callable[[str], set[str]]
HostsWithLoras = Callable[[list[str]], set[str] | None]
LORA_MARK = "+lora:"


def lora_key(model: str, lora: str) -> str:
    """The name a worker advertises model ``model`` holding LoRA ``lora`` under (presence's models_loaded)."""
    return f"{model}{LORA_MARK}{lora}"


def routed_queues() -> set[str]:
    """The queues whose jobs are routed: the GPU queue and the live queue (the live app's setting)."""
    return {name for name in (settings.GARDEN_GPU_QUEUE, getattr(settings, "GARDEN_LIVE_QUEUE", "")) if name}


def host_queue(queue: str, host: str) -> str:
    return f"{queue}.{host}"


def hosts_with_copy(model: str) -> set[str]:
    """Hosts with library model ``model``'s file on disk (the library's per-host copies)."""
    if not model:
        return set()
    try:
        entry = library_selectors.resolve_model(model)
    except library_selectors.UnknownEntry:  # gone or unusable since the job was asked: no host holds it
        return set()
    return library_selectors.hosts_with_copy(entry.pk)


def stored(model: str) -> bool:
    """Library model ``model``'s files are in the venue's store: any host can fetch them."""
    if not model:
        return False
    try:
        return library_selectors.fetchable(library_selectors.resolve_model(model))
    except library_selectors.UnknownEntry:
        return False


def hosts_with_loras(names: list[str]) -> set[str] | None:
    """Hosts with every one of these library LoRAs on disk; None when the job names none."""
    if not names:
        return None
    held: set[str] | None = None
    for name in names:
        try:
            hosts = library_selectors.hosts_with_copy(library_selectors.resolve_lora(name).pk)
        except library_selectors.UnknownEntry:
            hosts = set()
        held = hosts if held is None else held & hosts
    return held or set()


@dataclass
class Host:
    name: str
    workers: int = 0
    warm: bool = False  # a worker there holds the model in memory
    loading: bool = False  # a worker there loads it, or the host holds its load lease
    on_disk: bool = False
    loras_warm: bool = False  # a worker there holds the model with the job's LoRAs loaded (or the job has none)
    loras_on_disk: bool = False  # the job's LoRA files are on its disk (or the job has none)
    models: int = 0  # models held there in memory (all workers)
    running: int = 0
    waiting: int = 0  # queued jobs routed there

    @property
    def load(self) -> int:
        return self.running + self.waiting

    @property
    def free(self) -> bool:
        return self.load < self.workers


@dataclass
class Route:
    host: str  # "" = the shared queue
    queue: str
    why: str
    wait: float | None = None  # seconds until the router looks again (None: GARDEN_ROUTE_EXPIRES_SECONDS)
    hosts: list[Host] = field(default_factory=list)


def model_key(job: GenerationJob) -> str:
    """The name workers advertise a loaded model under: the library's name, else its path or hub id."""
    return job.model or job.model_id


def live_hosts(queue: str) -> dict[str, Host]:
    """Hosts with a fresh, ready worker consuming ``queue``'s host queue, with their load."""
    horizon = timezone.now() - timedelta(seconds=MISSED_BEATS * max(settings.GARDEN_WORKER_PRESENCE_SECONDS, 0.1))
    hosts: dict[str, Host] = {}
    names: dict[str, str] = {}
    for row in WorkerPresence.objects.filter(seen_at__gte=horizon).exclude(host=""):
        if host_queue(queue, row.host) not in row.queues or row.details.get("state") == "warming":
            continue
        host = hosts.setdefault(row.host, Host(name=row.host))
        host.workers += 1
        host.models += len(row.models_loaded or [])
        names[row.name] = row.host
    if len(hosts) < 2:  # nothing to route (one machine): no more queries
        return hosts
    running = GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING, worker__in=list(names))
    for worker, count in running.values_list("worker").annotate(n=Count("id")).values_list("worker", "n"):
        hosts[names[worker]].running += count
    waiting = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False, routed_to__in=list(hosts))
    for host, count in waiting.values_list("routed_to").annotate(n=Count("id")).values_list("routed_to", "n"):
        hosts[host].waiting += count
    return hosts


def mark_models(
    hosts: dict[str, Host], *, key: str, keys: set[str], copies: set[str], loras: list[str] = (), lora_copies: set[str] | None = None
) -> None:
    horizon = timezone.now() - timedelta(seconds=MISSED_BEATS * max(settings.GARDEN_WORKER_PRESENCE_SECONDS, 0.1))
    for row in WorkerPresence.objects.filter(seen_at__gte=horizon, host__in=list(hosts)).only("host", "models_loaded", "model_loading"):
        held = set(row.models_loaded or [])
        warm = bool(keys & held)
        hosts[row.host].warm |= warm
        hosts[row.host].loras_warm |= warm and any(all(lora_key(k, lora) in held for lora in loras) for k in keys)
        hosts[row.host].loading |= row.model_loading in keys and bool(row.model_loading)
    for name in set(hosts) if lora_copies is None else lora_copies & set(hosts):
        hosts[name].loras_on_disk = True
    lease = RouteLease.objects.filter(model=key[:255], until__gt=timezone.now()).first()
    if lease is not None and lease.host in hosts:
        hosts[lease.host].loading = True
    for name in copies & set(hosts):
        hosts[name].on_disk = True


def take_lease(key: str, host: str, *, live: list[str], done: frozenset[str] = frozenset()) -> str:
    """Give ``host`` the load of ``key`` unless another lease holds it (a lease ends at its time,
    when its holder is not among the ``live`` hosts, or is in ``done``, those that hold the model
    already); returns the holder."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.GARDEN_ROUTE_LOAD_LEASE_SECONDS)
    key = key[:255]
    over = Q(until__lte=now) | Q(host__in=list(done)) | ~Q(host__in=live)
    if RouteLease.objects.filter(over, model=key).update(host=host, until=until):
        return host
    try:
        with transaction.atomic():
            RouteLease.objects.create(model=key, host=host, until=until)
        return host
    except IntegrityError:
        held = RouteLease.objects.filter(model=key).values_list("host", flat=True).first()
        return held or host


def _least_loaded(hosts: list[Host], rng: random.Random) -> Host:
    return min(hosts, key=lambda h: (h.load / max(h.workers, 1), h.models, rng.random()))


def choose(
    job: GenerationJob,
    queue: str,
    *,
    copies: HostsWithCopy = hosts_with_copy,
    lora_copies: HostsWithLoras = hosts_with_loras,
    fetchable: Callable[[str], bool] = stored,
    waited: bool = False,
    rng: random.Random | None = None,
) -> Route:
    """Where ``job``'s message for ``queue`` goes now (see the module's docstring). ``waited``: its
    short wait at a busy warm host is over."""
    rng = rng or random.Random()
    shared = Route(host="", queue=queue, why="shared queue")
    if not settings.GARDEN_ROUTING or queue not in routed_queues():
        return shared
    hosts = live_hosts(queue)
    if len(hosts) < 2:
        return Route(host="", queue=queue, why="fewer than two hosts serve the queue", hosts=list(hosts.values()))
    key = model_key(job)
    loras = [str(lora.get("name", "")) for lora in job.loras or [] if lora.get("name")]
    mark_models(
        hosts,
        key=key,
        keys={k for k in (job.model, job.model_id) if k},
        copies=copies(job.model) if job.model else set(),
        loras=loras,
        lora_copies=lora_copies(loras),
    )
    every = list(hosts.values())
    warm = [h for h in every if h.warm or h.loading]
    free = [h for h in every if h.free]
    if warm:
        best = min(warm, key=lambda h: (not h.warm, not h.loras_warm, h.load / max(h.workers, 1), rng.random()))
        ready = [h for h in warm if h.free]
        if ready:
            best = min(ready, key=lambda h: (not h.warm, not h.loras_warm, not h.loras_on_disk, h.load, rng.random()))
            return _route(queue, best, "warm" if best.warm else "loading", every)
        pressed = best.waiting >= settings.GARDEN_ROUTE_SPILL_BACKLOG * max(best.workers, 1)
        if free and (waited or pressed):
            spare = _least_loaded(free, rng)
            holder = take_lease(key, spare.name, live=list(hosts), done=frozenset(h.name for h in warm if h.warm))
            if holder == spare.name:
                return _route(queue, spare, "pressure: a free host loads it too" if pressed else "waited: a free host loads it", every)
        if free:
            wait = settings.GARDEN_ROUTE_WAIT_SECONDS * (1 + rng.random())
            return _route(queue, best, "warm host busy, waiting", every, wait=wait)
        return _route(queue, best, "warm host busy, every host busy", every)
    if fetchable(job.model):
        target = min(every, key=lambda h: (h.load / max(h.workers, 1), h.models, not h.on_disk, not h.loras_on_disk, rng.random()))
    else:
        pool = [h for h in every if h.on_disk and h.loras_on_disk] or [h for h in every if h.on_disk] or every
        target = _least_loaded(pool, rng)
    holder = take_lease(key, target.name, live=list(hosts))
    target = hosts.get(holder, target)
    return _route(queue, target, "on disk" if target.on_disk else "least loaded", every)


def _route(queue: str, host: Host, why: str, hosts: list[Host], wait: float | None = None) -> Route:
    return Route(host=host.name, queue=host_queue(queue, host.name), why=why, wait=wait, hosts=hosts)


def route_job(*, job_id, queue: str, waited: bool = False) -> Route:
    """Choose where the queued job's message goes and record it on its row (``routed_to``,
    ``route_expires_at``); the shared queue for a job that is not queued any more."""
    job = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).first()
    if job is None:
        return Route(host="", queue=queue, why="not queued")
    route = choose(job, queue, waited=waited)
    wait = route.wait if route.wait is not None else settings.GARDEN_ROUTE_EXPIRES_SECONDS
    GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).update(
        routed_to=route.host, route_expires_at=timezone.now() + timedelta(seconds=wait) if route.host else None
    )
    return route
