"""The facts routing decides on, read from the database and the settings as plain values
(``generation.dispatch.routing.choose`` reads nothing itself): the present hosts serving a queue
with their load and the models their workers hold, what a job needs of a host, its model's load
lease, the rules."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from generation.dispatch import presence
from generation.dispatch.routing import Host, Rules, Wanted, host_queue
from generation.models import GenerationJob, RouteLease
from library import selectors as library_selectors

HostsWithCopy = Callable[[str], set[str]]
HostsWithLoras = Callable[[list[str]], set[str] | None]


def routed_queues() -> set[str]:
    """The queues whose jobs are routed: the GPU queue and the live queue (the live app's setting)."""
    return {name for name in (settings.GARDEN_GPU_QUEUE, getattr(settings, "GARDEN_LIVE_QUEUE", "")) if name}


def rules() -> Rules:
    return Rules(wait=settings.GARDEN_ROUTE_WAIT_SECONDS, spill_backlog=settings.GARDEN_ROUTE_SPILL_BACKLOG)


def model_key(job: GenerationJob) -> str:
    """The name workers advertise a loaded model under: the library's name, else its path or hub id."""
    return job.model or job.model_id


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


def wanted(
    job: GenerationJob,
    *,
    copies: HostsWithCopy = hosts_with_copy,
    lora_copies: HostsWithLoras = hosts_with_loras,
    fetchable: Callable[[str], bool] = stored,
) -> Wanted:
    """What ``job`` needs of a host, the library's copies and store included."""
    loras = tuple(str(lora.get("name", "")) for lora in job.loras or [] if lora.get("name"))
    on_loras = lora_copies(list(loras))
    return Wanted(
        key=model_key(job)[:255],
        names=frozenset(name for name in (job.model, job.model_id) if name),
        loras=loras,
        on_disk=frozenset(copies(job.model) if job.model else ()),
        loras_on_disk=None if on_loras is None else frozenset(on_loras),
        stored=fetchable(job.model),
    )


def serving_hosts(queue: str) -> dict[str, Host]:
    """The present hosts with a ready worker consuming ``queue``'s host queue, with their load and
    models (with fewer than two, nothing to route: no more queries)."""
    seen: dict[str, dict] = {}
    names: dict[str, str] = {}
    for row in presence.present_rows().exclude(host=""):
        if host_queue(queue, row.host) not in row.queues or not presence.is_ready(row):
            continue
        facts = seen.setdefault(row.host, {"workers": 0, "held": set(), "loading": set(), "models": 0})
        facts["workers"] += 1
        facts["held"].update(row.models_loaded or [])
        facts["models"] += len(row.models_loaded or [])
        if row.model_loading:
            facts["loading"].add(row.model_loading)
        names[row.name] = row.host
    running: dict[str, int] = {}
    waiting: dict[str, int] = {}
    if len(seen) >= 2:
        jobs = GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING, worker__in=list(names))
        for worker, count in jobs.values_list("worker").annotate(n=Count("id")).values_list("worker", "n"):
            running[names[worker]] = running.get(names[worker], 0) + count
        queued = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, cancel_requested=False, routed_to__in=list(seen))
        waiting = dict(queued.values_list("routed_to").annotate(n=Count("id")).values_list("routed_to", "n"))
    return {
        name: Host(
            name=name,
            workers=facts["workers"],
            held=frozenset(facts["held"]),
            loading=frozenset(facts["loading"]),
            models=facts["models"],
            running=running.get(name, 0),
            waiting=waiting.get(name, 0),
        )
        for name, facts in seen.items()
    }


def lease_holder(key: str, hosts: dict[str, Host]) -> str:
    """The present host holding model ``key``'s load lease now ("" none)."""
    holder = RouteLease.objects.filter(model=key[:255], until__gt=timezone.now()).values_list("host", flat=True).first()
    return holder if holder in hosts else ""
