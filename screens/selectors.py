"""Reading the fleet: every screen with its status, the counts, and one screen's recent history."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from screens.models import Beat, Screen, ScreenCommand
from screens.status import STATUSES, UNENROLLED, Assessment, assess, silent_after

HISTORY_BEATS = 60  # beats shown on a screen's page


def fleet(*, now: datetime | None = None, queryset=None) -> list[tuple[Screen, Assessment]]:
    """Every screen (or those of ``queryset``) with its status as of ``now``."""
    now = now or timezone.now()
    screens = queryset if queryset is not None else Screen.objects.all()
    return [(screen, assess(screen, now)) for screen in screens]


def ids_with_status(status: str, *, now: datetime | None = None) -> list[int]:
    """The screens whose status is ``status`` now (the fleet page's filter: a status is not a column)."""
    return [screen.pk for screen, assessment in fleet(now=now) if assessment.status == status]


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    silent: list[tuple[Screen, Assessment]]

    @property
    def enrolled(self) -> int:
        return sum(n for status, n in self.counts.items() if status != UNENROLLED)


def summary(*, now: datetime | None = None) -> Summary:
    """Screens per status, and the silent ones (the system status page, /metrics)."""
    rows = fleet(now=now)
    counts = Counter(assessment.status for _screen, assessment in rows)
    silent = [(screen, assessment) for screen, assessment in rows if assessment.status == "silent"]
    return Summary(counts={status: counts.get(status, 0) for status in STATUSES}, silent=silent)


@dataclass(frozen=True)
class Event:
    at: datetime
    text: str


def _changes(previous: dict, beat: dict) -> list[str]:
    """What one beat says that the one before it did not."""
    texts = []
    if beat.get("load") != previous.get("load"):
        texts.append(_("page loaded (%(page)s, version %(version)s)") % {"page": beat.get("page", ""), "version": beat.get("version", "")})
    elif beat.get("errorCount", 0) > previous.get("errorCount", 0):
        newest = (beat.get("errors") or [{}])[-1]
        texts.append(_("new error: %(message)s") % {"message": newest.get("message", "")})
    if beat.get("camera") != previous.get("camera"):
        texts.append(_("camera: %(state)s") % {"state": str(beat.get("camera", "")).replace("_", " ")})
    if beat.get("language") != previous.get("language"):
        texts.append(_("language: %(code)s") % {"code": beat.get("language", "")})
    if beat.get("maintenance") != previous.get("maintenance"):
        texts.append(_("maintenance screen on") if beat.get("maintenance") else _("maintenance screen off"))
    if beat.get("reload") and beat.get("reload") != previous.get("reload"):
        texts.append(_("will reload when idle (%(why)s)") % {"why": beat["reload"]})
    return texts


def history(screen: Screen, *, beats: int = HISTORY_BEATS) -> dict:
    """A screen's newest beats, the events they show (loads, camera changes, errors, silences) and its commands."""
    recent = list(Beat.objects.filter(screen=screen).order_by("-pk")[:beats])
    events = []
    previous: dict = {}
    previous_at: datetime | None = None
    for beat in reversed(recent):
        gap = silent_after(float(beat.data.get("interval") or screen.interval))
        if previous_at is not None and (beat.at - previous_at).total_seconds() > gap:
            events.append(Event(previous_at, _("silent for %(seconds)s s") % {"seconds": int((beat.at - previous_at).total_seconds())}))
        for text in _changes(previous, beat.data) if previous else []:
            events.append(Event(beat.at, text))
        previous, previous_at = beat.data, beat.at
    commands = list(ScreenCommand.objects.filter(screen=screen).select_related("issued_by").order_by("-pk")[:30])
    return {"beats": recent, "events": list(reversed(events)), "commands": commands}


def seconds_since_beat(*, now: datetime | None = None) -> list[tuple[Screen, float]]:
    """Each enrolled screen and the seconds since its last beat (since enrolment when it never beat)."""
    now = now or timezone.now()
    rows = []
    for screen in Screen.objects.exclude(key_salt="").defer("last_beat"):
        since = (
            screen.last_beat_at if screen.last_beat_at and (not screen.enrolled_at or screen.last_beat_at >= screen.enrolled_at) else None
        )
        since = since or screen.enrolled_at
        rows.append((screen, (now - since).total_seconds() if since else float("inf")))
    return rows
