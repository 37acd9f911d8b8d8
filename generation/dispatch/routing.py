"""Where a job's message goes: to the host whose worker holds its model (docs/scaling.md#jobs-where-their-model-is-warm).

A pure choice: ``choose`` takes plain values (what the job needs, the present hosts, the model's
load lease, a chance stream, the rules) and returns the route; it reads no database and no
setting. ``generation.dispatch.route_facts`` reads those values, ``generation.dispatch.rerouting``
takes the lease, records the route and looks at it again.

Every worker of a routed queue (GARDEN_GPU_QUEUE, the live queue) also consumes that queue's
own queue for its host, ``<queue>.<host>`` (``host_queue``), and says in its presence row which
models it holds in memory and which it is loading. A job for model M goes, in this order:

1. to a free host that holds M or is loading it (a warm worker: no load at all);
2. while every such host is busy: it waits there; if another host is free, it waits only
   ``Rules.wait`` seconds randomised up to twice that (so jobs sent together do not all move at
   once, Ray Serve's rule), or not at all once ``Rules.spill_backlog`` jobs wait per warm worker,
   and then the free host loads M too (a second copy of a hot model, made only where a card would
   otherwise stand idle, never by displacing a busy card's model), unless another host already
   holds M's load lease for a copy not loaded yet;
3. no host holds M: a host with M's file on disk (with the job's LoRAs too, first), else the least
   loaded host. When the store holds M (any host can fetch it) the least loaded host with the
   fewest models comes first and a copy on disk only breaks ties: sending every cold model to the
   one host that has the files would make it swap models on every job while the other card stands
   idle (fewest jobs, then fewest models held, then by chance).

A route that loads M (rules 2 and 3) asks for M's load lease (``Route.loads``): until it expires or
the host holds M, the lease holder counts as loading M, so M's other jobs follow it there and one
model loads once across the venue however many jobs for it arrive together.

A job with LoRAs counts a host warm for it by the model alone (the model's load is what costs), and
among warm hosts prefers one whose worker holds the model with those LoRAs loaded (advertised as
``lora_key``: ``<model>+lora:<name>``).

With fewer than two hosts serving the queue nothing is routed: the message goes to the shared
queue (``make run``'s one worker). Exactly-once stays with ``claim_job``: a message left behind in
a host's queue finds its job claimed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

LORA_MARK = "+lora:"


def lora_key(model: str, lora: str) -> str:
    """The name a worker advertises model ``model`` holding LoRA ``lora`` under (presence's models_loaded)."""
    return f"{model}{LORA_MARK}{lora}"


def host_queue(queue: str, host: str) -> str:
    return f"{queue}.{host}"


@dataclass(frozen=True)
class Wanted:
    """What a job needs of a host."""

    key: str  # the model's name for its load lease (the library's name, else its path or hub id)
    names: frozenset[str]  # every name a worker may advertise the model under
    loras: tuple[str, ...] = ()
    on_disk: frozenset[str] = frozenset()  # hosts with the model's file
    loras_on_disk: frozenset[str] | None = None  # hosts with every LoRA's file; None: the job names none
    stored: bool = False  # the venue's store holds the model: any host can fetch it


@dataclass(frozen=True)
class Host:
    """A present host serving the queue, as its ready workers said it."""

    name: str
    workers: int = 1
    held: frozenset[str] = frozenset()  # models in memory on any of its workers (and their ``lora_key``s)
    loading: frozenset[str] = frozenset()  # models its workers are loading now
    models: int = 0  # models in memory, all workers together
    running: int = 0
    waiting: int = 0  # queued jobs routed there

    @property
    def load(self) -> int:
        return self.running + self.waiting

    @property
    def free(self) -> bool:
        return self.load < self.workers

    @property
    def share(self) -> float:
        return self.load / max(self.workers, 1)


@dataclass(frozen=True)
class Rules:
    wait: float  # seconds a job waits at a busy warm host while another is free (GARDEN_ROUTE_WAIT_SECONDS)
    spill_backlog: int  # jobs waiting per warm worker that make a free host load the model at once


@dataclass
class Route:
    host: str  # "" = the shared queue
    queue: str
    why: str
    wait: float | None = None  # seconds until the router looks again (None: GARDEN_ROUTE_EXPIRES_SECONDS)
    loads: bool = False  # the host loads the model for it: take the model's load lease first
    hosts: list[Host] = field(default_factory=list)


@dataclass(frozen=True)
class _Fit:
    """One host as one job sees it."""

    host: Host
    warm: bool  # holds the model
    loading: bool  # loads it, or holds its load lease
    loras_warm: bool  # holds the model with the job's LoRAs loaded (or the job has none)
    on_disk: bool
    loras_on_disk: bool  # the job's LoRA files are on its disk (or the job has none)


def _fit(host: Host, job: Wanted, lease: str) -> _Fit:
    warm = bool(job.names & host.held)
    loras_warm = warm and any(all(lora_key(name, lora) in host.held for lora in job.loras) for name in job.names)
    return _Fit(
        host=host,
        warm=warm,
        loading=bool(job.names & host.loading) or host.name == lease,
        loras_warm=loras_warm,
        on_disk=host.name in job.on_disk,
        loras_on_disk=job.loras_on_disk is None or host.name in job.loras_on_disk,
    )


def choose(job: Wanted, hosts: list[Host], *, queue: str, lease: str, chance: random.Random, rules: Rules, waited: bool = False) -> Route:
    """Where ``job``'s message for ``queue`` goes now (see the module's docstring). ``lease``: the
    present host holding the model's load lease ("" none); ``waited``: its short wait at a busy warm
    host is over. ``chance`` breaks ties and draws the wait."""
    if len(hosts) < 2:
        return Route(host="", queue=queue, why="fewer than two hosts serve the queue", hosts=list(hosts))
    fits = [_fit(host, job, lease) for host in sorted(hosts, key=lambda h: h.name)]  # one order: a seed repeats the choice

    def route(fit: _Fit, why: str, *, wait: float | None = None, loads: bool = False) -> Route:
        name = fit.host.name
        return Route(host=name, queue=host_queue(queue, name), why=why, wait=wait, loads=loads, hosts=list(hosts))

    warm = [f for f in fits if f.warm or f.loading]
    free = [f for f in fits if f.host.free]
    if warm:
        ready = [f for f in warm if f.host.free]
        if ready:
            best = min(ready, key=lambda f: (not f.warm, not f.loras_warm, not f.loras_on_disk, f.host.load, chance.random()))
            return route(best, "warm" if best.warm else "loading")
        best = min(warm, key=lambda f: (not f.warm, not f.loras_warm, f.host.share, chance.random()))
        pressed = best.host.waiting >= rules.spill_backlog * max(best.host.workers, 1)
        copy_loading = any(f.host.name == lease and not f.warm for f in fits)  # one load of a model at a time
        if free and (waited or pressed) and not copy_loading:
            spare = _least_loaded(free, chance)
            return route(spare, "pressure: a free host loads it too" if pressed else "waited: a free host loads it", loads=True)
        if free:
            return route(best, "warm host busy, waiting", wait=rules.wait * (1 + chance.random()))
        return route(best, "warm host busy, every host busy")
    if job.stored:
        target = min(fits, key=lambda f: (f.host.share, f.host.models, not f.on_disk, not f.loras_on_disk, chance.random()))
    else:
        pool = [f for f in fits if f.on_disk and f.loras_on_disk] or [f for f in fits if f.on_disk] or fits
        target = _least_loaded(pool, chance)
    return route(target, "on disk" if target.on_disk else "least loaded", loads=True)


def _least_loaded(fits: list[_Fit], chance: random.Random) -> _Fit:
    return min(fits, key=lambda f: (f.host.share, f.host.models, chance.random()))
