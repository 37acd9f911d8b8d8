"""The admin's System status page (``/curation/status/``, staff only, linked from the admin index).

One read (``system_status``) and one thin view. It shows, each with what to do about it:

- database, cache, broker and storage (``config.health.readiness``: each checked in parallel with
  GARDEN_READY_TIMEOUT);
- the Celery workers and the queues each consumes, jobs waiting and running per queue, and queues
  whose jobs nobody consumes (``generation.selectors``: one broadcast, cached 5 s);
- the hosts (GARDEN_HOST_NAME) whose workers wrote their presence lately, with their workers, queues,
  cards and models in memory (``generation.dispatch.presence.present_hosts``: a second machine joined);
- beat's last tick and each beat task's last run and outcome (``infra.periodic``'s PeriodicRun rows,
  joined with CELERY_BEAT_SCHEDULE);
- the screens per status, and each silent one (``screens.selectors``: derived when read, docs/fleet.md);
- the model library's default model, and why jobs paint with another when its file is gone
  (``library.selectors.default_state``), with the last scan of the models folder;
- live pictures that would never be shown (``safety.selectors.live_pictures_withheld``);
- what paints: the painter (the demo's procedural one, or which model), whether the image check and
  the watermark are on, and the lines the apps above register (``config.status_facts``: who paints
  live pictures, what the gardener does), each problem with its fix among the problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.http import require_GET

from config import health, status_facts
from config.status_facts import Fact
from generation import backends
from generation import selectors as generation_selectors
from generation.dispatch.presence import present_hosts
from infra import periodic
from infra.models import PeriodicRun
from library import selectors as library
from provenance import watermark
from safety.selectors import live_pictures_withheld
from screens import selectors as screens_selectors
from screens.status import STATUS_LABELS

# A beat task is late when its last start is older than this many of its periods (plus a minute).
LATE_AFTER_PERIODS = 2
BEAT_COMMAND = "celery -A config beat --schedule <a writable path>/celerybeat-schedule --loglevel INFO"
# The states' names on the page (data-state keeps the English value for scripts and tests).
STATE_LABELS = {
    "ok": pgettext_lazy("periodic task state", "ok"),
    "failed": pgettext_lazy("periodic task state", "failed"),
    "running": pgettext_lazy("periodic task state", "running"),
    "late": pgettext_lazy("periodic task state", "late"),
    "never": pgettext_lazy("periodic task state", "never"),
}


@dataclass(frozen=True)
class TaskRun:
    """One CELERY_BEAT_SCHEDULE entry and its last recorded run."""

    entry: str
    task: str
    every: timedelta | None
    run: PeriodicRun | None
    state: str  # ok | failed | running | late | never

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def problem(self) -> str:
        if self.state == "failed":
            return _("The last run of %(entry)s failed: %(detail)s") % {"entry": self.entry, "detail": self.run.detail if self.run else ""}
        if self.state == "late":
            started = self.run.started_at if self.run else None
            return _("%(entry)s has not run since %(since)s (every %(every)s).") % {
                "entry": self.entry,
                "since": _local(started),
                "every": _duration(self.every),
            }
        return ""


def _local(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}" if moment else _("never")


def _duration(value: timedelta | None) -> str:
    if value is None:
        return _("its schedule")
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0:
        return _("%d h") % (seconds // 3600)
    return _("%d min") % (seconds // 60) if seconds % 60 == 0 else _("%d s") % seconds


def _period(schedule) -> timedelta | None:
    """Seconds or a timedelta; other schedules (crontab) have no fixed period here."""
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    if isinstance(schedule, timedelta):
        return schedule
    run_every = getattr(schedule, "run_every", None)
    return run_every if isinstance(run_every, timedelta) else None


def _state(run: PeriodicRun | None, every: timedelta | None, now: datetime) -> str:
    if run is None:
        return "never"
    if every is not None and now - run.started_at > every * LATE_AFTER_PERIODS + timedelta(minutes=1):
        return "late"
    if run.ok is None:
        return "running"
    return "ok" if run.ok else "failed"


def periodic_runs(*, now: datetime | None = None) -> list[TaskRun]:
    """Every beat entry with its last run (one query)."""
    now = now or timezone.now()
    schedule = settings.CELERY_BEAT_SCHEDULE
    runs = PeriodicRun.objects.in_bulk([entry["task"] for entry in schedule.values()])
    result = []
    for name, entry in schedule.items():
        every = _period(entry["schedule"])
        run = runs.get(entry["task"])
        result.append(TaskRun(entry=name, task=entry["task"], every=every, run=run, state=_state(run, every, now)))
    return result


def queue_table(pool: dict) -> list[dict]:
    """Per queue: the workers consuming it, jobs queued and running."""
    names = {"default", settings.GARDEN_GPU_QUEUE}
    names |= {queue for worker in pool["workers"] for queue in worker["queues"]}
    names |= set(generation_selectors.waiting_by_queue())
    rows = []
    for queue in sorted(names):
        counts = generation_selectors.queue_counts(queue=queue)
        consumers = [worker["name"] for worker in pool["workers"] if queue in worker["queues"]]
        rows.append({"queue": queue, "consumers": consumers, **counts, "unconsumed": bool(counts["queued"] and not consumers)})
    return rows


def painter_facts(default_model: library.DefaultModel) -> list[Fact]:
    """The painter of jobs that name none, the image check and the watermark (this web process's view)."""
    if settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL:
        painter = Fact("painter", _("Painter"), _("the procedural painter (the demo's: patterns, no model)"), demo=True)
    elif default_model.used is not None:
        painter = Fact("painter", _("Painter"), _("diffusers, the library's default model %(name)s") % {"name": default_model.used.name})
    else:
        words = {"model": settings.GARDEN_DIFFUSION_MODEL}
        painter = Fact("painter", _("Painter"), _("diffusers, GARDEN_DIFFUSION_MODEL (%(model)s)") % words)
    if settings.GARDEN_SAFETY_IMAGE_CHECK:
        check = _("on: every generated picture is checked before it is served")
    else:
        check = _("off: generated pictures are stored unchecked (GARDEN_SAFETY_IMAGE_CHECK)")
    if not settings.GARDEN_PROVENANCE_WATERMARK:
        mark = _("off (GARDEN_PROVENANCE_WATERMARK)")
    elif not watermark.available():
        mark = _("off: OpenCV is not installed here (requirements/generation.txt), so pictures are painted without it")
    else:
        mark = _("on: generated pictures carry the invisible watermark")
    return [painter, Fact("image_check", _("Image check"), check), Fact("watermark", _("Watermark"), mark)]


def system_status() -> dict:
    """Everything the page shows, and ``problems``: one sentence for each thing that is wrong."""
    now = timezone.now()
    parts = health.readiness()
    pool = generation_selectors.answering_workers(timeout=generation_selectors.QUEUE_CHECK_TIMEOUT)
    queues = queue_table(pool)
    runs = periodic_runs(now=now)
    tick = next((run for run in runs if run.task == periodic.BEAT_TICK), None)
    problems = [
        _("%(part)s is down (%(detail)s).") % {"part": part.name.capitalize(), "detail": part.detail or _("unreachable")}
        for part in parts
        if not part.ok
    ]
    if pool.get("error"):
        problems.append(_("The workers cannot be asked: %(error)s") % {"error": pool["error"]})
    for row in queues:
        if row["unconsumed"]:
            command = generation_selectors.worker_command(row["queue"])
            waiting = ngettext(
                "No worker is consuming queue %(queue)s: %(count)d job waits. Start a worker: %(command)s",
                "No worker is consuming queue %(queue)s: %(count)d jobs wait. Start a worker: %(command)s",
                row["queued"],
            )
            problems.append(waiting % {"queue": row["queue"], "count": row["queued"], "command": command})
    if tick is None or tick.state in ("never", "late"):
        if tick and tick.run:
            problem = _(
                "Beat has not ticked since %(since)s: is celery beat running (and a worker on queue default, which runs the tick)? "
                "Start beat: %(command)s"
            ) % {"since": _local(tick.run.started_at), "command": BEAT_COMMAND}
        else:
            problem = _(
                "Beat has not ticked yet: is celery beat running (and a worker on queue default, which runs the tick)? "
                "Start beat: %(command)s"
            ) % {"command": BEAT_COMMAND}
        problems.append(problem)
    problems += [run.problem for run in runs if run.task != periodic.BEAT_TICK and run.problem]
    fleet = screens_selectors.summary(now=now)
    for screen, assessment in fleet.silent:
        problems.append(
            _("Screen %(name)s (%(location)s) is silent: %(reason)s.")
            % {"name": screen, "location": screen.location or "—", "reason": "; ".join(assessment.reasons)}
        )
    screens = [(key, STATUS_LABELS[key], count) for key, count in fleet.counts.items()]
    default_model = library.default_state()
    if default_model.problem:
        problems.append(default_model.problem)
    last_scan = library.last_scan() if library.enabled() else None
    withheld = live_pictures_withheld()
    if withheld:
        problems.append(withheld)
    facts = painter_facts(default_model) + status_facts.facts()
    problems += [fact.problem for fact in facts if fact.problem]
    return {
        "facts": facts,
        "demo": any(fact.demo for fact in facts),
        "now": now,
        "parts": parts,
        "pool": pool,
        "queues": queues,
        "hosts": present_hosts(),
        "runs": runs,
        "tick": tick,
        "problems": problems,
        "screens": screens,
        "default_model": default_model,
        "last_scan": last_scan,
        "last_scan_message": _without_sentence(last_scan.message if last_scan else "", default_model),
    }


def _without_sentence(message: str, default_model: library.DefaultModel) -> str:
    """A scan's summary less the default model's sentence the problems above say already: said once,
    in the staff's language or in the worker's (the scan wrote it in LANGUAGE_CODE's)."""
    if not default_model.problem:
        return message
    with translation.override(settings.LANGUAGE_CODE):
        written = default_model.problem
    for sentence in {default_model.problem, written}:
        message = message.replace(f" {sentence}", "").replace(sentence, "")
    return message


@require_GET
def status_page(request):
    """Staff only: routed through ``admin.site.admin_view`` (login redirect, never cached)."""
    context = {**admin.site.each_context(request), "title": _("System status"), **system_status()}
    return TemplateResponse(request, "admin/system_status.html", context)
