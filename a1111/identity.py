"""Who an A1111 call is, and what is that caller's: its model choice, its jobs (progress, interrupt,
A1111's task ids).

A1111 serves one user; here every caller is told apart: a client key is its own caller (two
programs of one user, each with its key, have their own model, progress and interrupt), any other
credential is its user, and a trusted address without credentials is the service user
(a1111.auth). A client that cannot send a header puts its key in the base URL it is given
(``/k/<key>/sdapi/v1/…``: a1111.keypath).
"""

from __future__ import annotations

import uuid

from django.db import transaction

from a1111.models import ClientChoice, ClientJob
from generation import services
from generation.models import GenerationJob
from generation.requests import JobParameterError
from infra.models import ClientKey
from library import selectors as library


def of(request) -> str:
    """The caller: ``key:<id>`` for a client key, else ``user:<id>``."""
    if isinstance(request.auth, ClientKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


# --- the caller's choices (POST /sdapi/v1/options) ----------------------------------------------


def choice(identity: str) -> ClientChoice | None:
    return ClientChoice.objects.filter(identity=identity).first()


def choose(identity: str, *, model: str | None = None, vae: str | None = None) -> None:
    """Keep the caller's model (a library pipeline, checked here) and/or VAE for its later calls."""
    updates = {}
    if model is not None:
        try:
            updates["model"] = library.resolve_model(model).name
        except library.UnknownEntry as exc:
            raise JobParameterError(fields={"sd_model_checkpoint": str(exc)}) from None
    if vae is not None:
        updates["vae"] = vae
    if updates:
        ClientChoice.objects.update_or_create(identity=identity, defaults=updates)


# --- the caller's jobs --------------------------------------------------------------------------


def task_id(body: dict) -> str:
    """A1111's ``force_task_id`` (the id the client polls /internal/progress with), else a new one."""
    value = body.get("force_task_id")
    if value in (None, ""):
        return f"task({uuid.uuid4().hex[:15]})"  # A1111's own form
    if not isinstance(value, str) or len(value) > 100:
        raise JobParameterError(fields={"force_task_id": "force_task_id must be text of at most 100 characters."})
    return value


def record(job: GenerationJob, identity: str, task: str) -> None:
    ClientJob.objects.create(job=job, identity=identity, task_id=task)


def jobs(identity: str):
    return GenerationJob.objects.filter(a1111_call__identity=identity)


def current_job(identity: str) -> GenerationJob | None:
    """The caller's running job, else its oldest queued one (what A1111's single queue runs next)."""
    mine = jobs(identity)
    running = mine.running().order_by("-started_at").first()
    return running or mine.queued().order_by("created_at").first()


def interrupt(identity: str) -> int:
    """Cancel the caller's running job and its queued ones (A1111's interrupt stops its one job; a
    client that interrupts on disconnect leaves nothing behind in the queue). Returns how many."""
    cancelled = 0
    with transaction.atomic():
        for job in jobs(identity).in_flight():
            services.cancel_job(job=job)
            cancelled += 1
    return cancelled


def pending_tasks(identity: str) -> list[str]:
    """The caller's queued task ids, oldest first (A1111's ``/internal/pending-tasks``)."""
    return list(
        ClientJob.objects.filter(identity=identity, job__in=GenerationJob.objects.queued())
        .order_by("job__created_at")
        .values_list("task_id", flat=True)
    )


def task(identity: str, task_id: str) -> GenerationJob | None:
    found = ClientJob.objects.filter(identity=identity, task_id=task_id).select_related("job").order_by("-job__created_at").first()
    return found.job if found is not None else None
