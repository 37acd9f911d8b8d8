"""Record each periodic task's last run (``PeriodicRun``), for the admin's system status page.

Any app's beat task wraps its function (under ``@shared_task``) with ``recorded``::

    @shared_task(name="recommend.tasks.rebuild_model", ignore_result=True)
    @periodic.recorded("recommend.tasks.rebuild_model")
    def rebuild_model(): ...

The run's start, end, outcome and a short detail (what the function returned, or the error) are
written to the row of that name. Recording never changes the task: a database error while
recording is logged and the task's own result or exception passes through unchanged.

``beat_tick`` (garden/tasks.py) is such a task that does nothing: beat schedules it every minute,
so its row says when beat last sent a task that a worker ran.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError
from django.utils import timezone

from infra.models import PeriodicRun

log = logging.getLogger(__name__)

BEAT_TICK = "garden.tasks.beat_tick"
DETAIL_LIMIT = 500
# The beat tasks here return nothing when they skip a run (another one holds the lock).
NOTHING = "returned nothing (skipped?)"

P = ParamSpec("P")
R = TypeVar("R")


def started(name: str) -> None:
    now = timezone.now()
    _write(name, started_at=now, finished_at=None, ok=None, detail="")


def finished(name: str, *, ok: bool, detail: str) -> None:
    now = timezone.now()
    fields: dict = {"finished_at": now, "ok": ok, "detail": detail[:DETAIL_LIMIT]}
    if ok:
        fields["last_ok_at"] = now
    try:
        if not PeriodicRun.objects.filter(name=name).update(**fields):
            PeriodicRun.objects.create(name=name, started_at=now, **fields)
    except DatabaseError:
        log.warning("could not record the end of periodic task %s", name, exc_info=True)


def _write(name: str, **fields) -> None:
    try:
        PeriodicRun.objects.update_or_create(name=name, defaults=fields)
    except DatabaseError:
        log.warning("could not record the start of periodic task %s", name, exc_info=True)


def recorded(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: record each call of the function as the last run of periodic task ``name``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started(name)
            try:
                result = function(*args, **kwargs)
            except BaseException as exc:
                finished(name, ok=False, detail=f"{type(exc).__name__}: {exc}")
                raise
            finished(name, ok=True, detail=NOTHING if result is None else str(result))
            return result

        return wrapper

    return decorate
