"""A screen's status, derived whenever it is read (never stored, never decided by a timer).

- **unenrolled**: no device holds a secret for it (a page beating without an identity, or a
  screen whose enrolment link nobody has opened);
- **silent**: enrolled, and no beat for two of its intervals plus a little grace (15 s beats:
  silent 33 s after the last one), or never a beat since enrolment;
- **warning**: beating, but something needs a look (``reasons``);
- **ok**: beating and nothing to report.

The fleet page, ``/metrics`` and the system status page all read it from here, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from config.version import page_version

OK, WARNING, SILENT, UNENROLLED = "ok", "warning", "silent", "unenrolled"
STATUSES = (OK, WARNING, SILENT, UNENROLLED)
STATUS_LABELS = {
    OK: pgettext_lazy("screen status", "ok"),
    WARNING: pgettext_lazy("screen status", "warning"),
    SILENT: pgettext_lazy("screen status", "silent"),
    UNENROLLED: pgettext_lazy("screen status", "unenrolled"),
}
# Camera states a page reports; "none": a page without a camera (signage), "starting": just loaded.
CAMERA_FINE = ("ok", "starting", "none")
RECENT_ERROR_SECONDS = 300  # an error this recent (in the page's own uptime) is a warning


@dataclass(frozen=True)
class Assessment:
    status: str
    reasons: list[str] = field(default_factory=list)
    seconds_since_beat: float | None = None

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])


def silent_after(interval: float) -> float:
    """Seconds without a beat after which a screen is silent: two intervals and a fifth more (at least 1 s)."""
    return 2 * interval + max(1.0, interval / 5)


def recent_errors(beat: dict) -> int:
    uptime = float(beat.get("uptime") or 0)
    return sum(1 for error in beat.get("errors") or [] if uptime - float(error.get("at") or 0) <= RECENT_ERROR_SECONDS)


def outdated(beat: dict) -> bool:
    return bool(beat.get("version")) and beat.get("version") != page_version()


def warnings(screen, beat: dict) -> list[str]:
    """What needs a look on a beating screen, one short phrase each (empty: ok)."""
    reasons = []
    camera = beat.get("camera") or "none"
    if camera not in CAMERA_FINE:
        reasons.append(_("camera: %(state)s") % {"state": camera.replace("_", " ")})
    outbox = beat.get("outbox") or {}
    if (outbox.get("length") or 0) > 0 and (outbox.get("oldest") or 0) > settings.SCREENS_OUTBOX_WARN_SECONDS:
        reasons.append(
            _("outbox: %(count)s waiting, the oldest for %(minutes)s min")
            % {
                "count": outbox["length"],
                "minutes": int(outbox["oldest"] // 60),
            }
        )
    errors = recent_errors(beat)
    if errors:
        reasons.append(
            ngettext("%(count)s error in the last 5 minutes", "%(count)s errors in the last 5 minutes", errors) % {"count": errors}
        )
    if outdated(beat):
        reasons.append(_("runs an older page (%(version)s)") % {"version": beat.get("version")})
    heap = (beat.get("heap") or {}).get("used") or 0
    if heap > settings.SCREENS_HEAP_LIMIT_MB * 1024 * 1024:
        reasons.append(_("JS heap %(mb)s MB") % {"mb": heap // (1024 * 1024)})
    if beat.get("reload"):
        reasons.append(_("reloads at its next idle moment (%(why)s)") % {"why": beat["reload"]})
    return reasons


def assess(screen, now: datetime) -> Assessment:
    since = (now - screen.last_beat_at).total_seconds() if screen.last_beat_at else None
    if not screen.enrolled:
        return Assessment(UNENROLLED, seconds_since_beat=since)
    if screen.last_beat_at is None or (screen.enrolled_at and screen.last_beat_at < screen.enrolled_at):
        since = (now - screen.enrolled_at).total_seconds() if screen.enrolled_at else None
        return Assessment(SILENT, [_("no beat since it was enrolled")], since)
    if since is not None and since > silent_after(screen.interval):
        return Assessment(SILENT, [_("no beat for %(seconds)s s") % {"seconds": int(since)}], since)
    reasons = warnings(screen, screen.last_beat or {})
    return Assessment(WARNING if reasons else OK, reasons, since)
