"""Screens: enrolment, beats and commands (docs/fleet.md). Services write; screens.selectors reads.

A beat is checked in this order: who sent it (its signature under the device secret, and a time
within the window that is later than any beat taken before: no replays), then the screen's own
throttle, then its body. Commands wait on the server until a beat's answer carries them and the
page acknowledges them (in its next beat, which it sends at once).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from config import groups
from config.api import count_request
from config.errors import DomainError, NotFound
from config.version import page_version
from screens import signing
from screens.models import Beat, Screen, ScreenCommand

log = logging.getLogger(__name__)

OPERATORS_GROUP = "Screen operators"
OPERATOR_PERMISSIONS = (
    "screens.view_screen",
    "screens.add_screen",
    "screens.change_screen",
    "screens.command_screen",
    "screens.view_screencommand",
)
TIME_WINDOW_MS = 5 * 60 * 1000  # a beat's own time may differ from the server's by this much
PRUNE_EVERY = 16  # beats; the history is cut back to SCREENS_BEATS_KEPT this often
FORGET_UNENROLLED_AFTER = timedelta(days=1)  # an unenrolled page not seen this long gives way to a new one
# Nothing that might name a visitor leaves a page in an error text: ids and query strings are cut.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_QUERY = re.compile(r"[?#][^\s'\"()]*")
DIGITS = re.compile(r"^[0-9]{1,15}$")  # an id or a time in ms: ASCII digits that fit a 64-bit column


class BeatRefused(DomainError):
    """A beat that is not taken: the body says why (``code``) and the server's time (``now``, ms)."""

    status_code = 403
    code = "refused"
    expected = True  # a page with an old identity keeps trying: not a server error

    def as_body(self) -> dict:
        return {"detail": self.message, "code": self.code, "now": now_ms()}


class BeatUnsigned(BeatRefused):
    status_code = 401
    code = "unsigned"
    www_authenticate = 'Screen-HMAC realm="screens"'


class UnknownScreen(BeatRefused):
    code = "unknown_screen"


class BadSignature(BeatRefused):
    code = "bad_signature"


class StaleBeat(BeatRefused):
    code = "stale"


class BeatThrottled(BeatRefused):
    status_code = 429
    code = "throttled"


class EnrolmentInvalid(NotFound):
    """This enrolment link is not valid: used, expired, replaced by a newer one, or never issued."""

    expected = True


class CommandRefused(DomainError):
    """A command the screen cannot take (a 400 naming why)."""


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def scrub(text: str) -> str:
    return _QUERY.sub("", _UUID.sub("<id>", text))[:200]


# --- Enrolment -----------------------------------------------------------------------------------


def open_enrolment(*, screen: Screen, by=None) -> str:
    """A new one-time enrolment link's token for ``screen`` (any older link stops working)."""
    screen.enrol_nonce = signing.new_nonce()
    screen.enrol_expires_at = timezone.now() + timedelta(hours=settings.SCREENS_ENROL_HOURS)
    screen.save(update_fields=["enrol_nonce", "enrol_expires_at"])
    if by is not None:
        _log(by, screen, CHANGE, "new enrolment link")
    return signing.enrolment_token(screen.pk, screen.enrol_nonce)


def enrolment_token(screen: Screen) -> str | None:
    """The open link's token, or None when no link is open (or it expired)."""
    if not screen.enrol_nonce or not screen.enrol_expires_at or screen.enrol_expires_at <= timezone.now():
        return None
    return signing.enrolment_token(screen.pk, screen.enrol_nonce)


def screen_for_token(token: str) -> Screen:
    """The screen an open enrolment link names, or EnrolmentInvalid."""
    screen_id = signing.parse_token(token)
    screen = Screen.objects.filter(pk=screen_id).first() if screen_id is not None else None
    if screen is None or enrolment_token(screen) is None or not signing.token_matches(token, screen.pk, screen.enrol_nonce):
        raise EnrolmentInvalid(gettext("This enrolment link is not valid: it was used, it expired or a newer one replaced it."))
    return screen


def enrol(*, token: str, anonymous_id: str = "") -> tuple[Screen, str]:
    """Give the device that opened the link its secret (once): the link closes, any earlier device's
    secret stops working, and the page's unenrolled row (``anonymous_id``) goes."""
    with transaction.atomic():
        screen = screen_for_token(token)
        screen = Screen.objects.select_for_update().get(pk=screen.pk)
        if not signing.token_matches(token, screen.pk, screen.enrol_nonce):  # another device was quicker
            raise EnrolmentInvalid(gettext("This enrolment link is not valid: it was used, it expired or a newer one replaced it."))
        screen.enrol_nonce = ""
        screen.enrol_expires_at = None
        screen.key_salt = signing.new_nonce()
        screen.enrolled_at = timezone.now()
        screen.last_ts = 0
        screen.maintenance = False
        screen.save()
        if anonymous_id:
            Screen.objects.filter(anonymous_id=anonymous_id, key_salt="").delete()
    log.info("screen %s (%s) enrolled", screen.pk, screen.name)
    return screen, signing.device_secret(screen.pk, screen.key_salt)


# --- Beats ---------------------------------------------------------------------------------------


def authenticate(*, screen_id: str, timestamp: str, signature: str, body: bytes) -> tuple[Screen, int]:
    """The enrolled screen that signed this beat and the beat's own time (ms), or why not."""
    if not DIGITS.fullmatch(screen_id) or not DIGITS.fullmatch(timestamp) or not signature:
        raise BeatUnsigned(gettext("A beat needs X-Screen, X-Screen-Time and X-Screen-Signature headers."))
    screen = Screen.objects.filter(pk=int(screen_id)).exclude(key_salt="").first()
    if screen is None:
        raise UnknownScreen(gettext("No enrolled screen has this id: enrol the screen again."))
    ts = int(timestamp)
    if not signing.signature_matches(screen_id=screen.pk, salt=screen.key_salt, timestamp_ms=ts, body=body, given=signature):
        raise BadSignature(gettext("The beat's signature does not match this screen's secret."))
    if abs(ts - now_ms()) > TIME_WINDOW_MS:
        raise StaleBeat(gettext("The beat's time is too far from the server's: the page's clock is off."))
    if ts <= screen.last_ts:
        raise StaleBeat(gettext("This beat is not newer than one already taken (a replay)."))
    return screen, ts


def throttle(key: str) -> None:
    """At most SCREENS_BEATS_PER_MINUTE beats a minute from one screen (after its signature checked out)."""
    if count_request(f"throttle:screen:{key}", window=60) > settings.SCREENS_BEATS_PER_MINUTE:
        error = BeatThrottled(gettext("Too many beats from this screen; the next one may come in a minute."))
        error.retry_after = 60
        raise error


def _clean(beat: dict) -> dict:
    """The beat as kept: its fields, with error texts scrubbed; acks are not part of it."""
    kept = {key: value for key, value in beat.items() if key != "acks"}
    kept["errors"] = [
        {"at": error["at"], "message": scrub(error["message"]), "source": scrub(error.get("source", ""))} for error in beat["errors"]
    ]
    kept["page"] = scrub(beat["page"])
    return kept


def _count_visitors(screen: Screen, beat: dict, today) -> dict:
    """Visitors served today: what the page counted since the last beat of the same page load."""
    same_load = beat["load"] == screen.load_id
    added = max(0, beat["visitors"] - screen.load_visitors) if same_load else beat["visitors"]
    so_far = screen.visitors_today if screen.visitors_day == today else 0
    return {"load_id": beat["load"], "load_visitors": beat["visitors"], "visitors_day": today, "visitors_today": so_far + added}


def record_beat(*, screen: Screen, beat: dict, timestamp_ms: int) -> dict:
    """Keep an enrolled screen's beat, take its acks; the answer carries what waits for it."""
    now = timezone.now()
    kept = _clean(beat)
    fields = {
        "last_beat_at": now,
        "last_ts": timestamp_ms,
        "interval": beat["interval"],
        "last_beat": kept,
        **_count_visitors(screen, beat, timezone.localdate(now)),
    }
    with transaction.atomic():
        # Only a beat newer than the last one taken: two racing copies of one beat store one.
        if not Screen.objects.filter(pk=screen.pk, last_ts__lt=timestamp_ms).update(**fields):
            raise StaleBeat(gettext("This beat is not newer than one already taken (a replay)."))
        beat_row = Beat.objects.create(screen=screen, at=now, data=kept)
        _take_acks(screen, beat["acks"], now)
        commands = _deliver(screen, now)
    if beat_row.pk % PRUNE_EVERY == 0:
        prune_beats(screen=screen)
    screen.refresh_from_db(fields=["maintenance"])
    return answer(commands=commands, maintenance=screen.maintenance, enrolled=True)


def record_anonymous_beat(*, anonymous_id: str, beat: dict) -> dict:
    """An unenrolled page's beat: it is listed as unenrolled (at most SCREENS_MAX_UNENROLLED), no commands."""
    now = timezone.now()
    kept = _clean(beat)
    fields = {"last_beat_at": now, "interval": beat["interval"], "last_beat": kept, "kind": beat["kind"]}
    screen = Screen.objects.filter(anonymous_id=anonymous_id).first()
    if screen is None:
        _make_room_for_unenrolled(now)
        screen, _created = Screen.objects.get_or_create(anonymous_id=anonymous_id, defaults=fields)
    fields.update(_count_visitors(screen, beat, timezone.localdate(now)))
    Screen.objects.filter(pk=screen.pk).update(**fields)
    return answer(commands=[], maintenance=False, enrolled=False)


def _make_room_for_unenrolled(now: datetime) -> None:
    unenrolled = Screen.objects.filter(key_salt="").exclude(anonymous_id="")
    unenrolled.filter(last_beat_at__lt=now - FORGET_UNENROLLED_AFTER).delete()
    if unenrolled.count() >= settings.SCREENS_MAX_UNENROLLED:
        error = BeatThrottled(gettext("Too many unenrolled pages are listed; enrol this screen in the admin."))
        error.retry_after = 3600
        raise error


def answer(*, commands: list[ScreenCommand], maintenance: bool, enrolled: bool) -> dict:
    return {
        "now": now_ms(),
        "version": page_version(),
        "interval": settings.SCREENS_BEAT_SECONDS,
        "enrolled": enrolled,
        "maintenance": maintenance,
        "commands": [{"id": c.pk, "kind": c.kind, "argument": c.argument} for c in commands],
    }


def prune_beats(*, screen: Screen) -> int:
    """Keep the newest SCREENS_BEATS_KEPT beats of one screen."""
    cutoff = Beat.objects.filter(screen=screen).order_by("-pk").values_list("pk", flat=True)[settings.SCREENS_BEATS_KEPT :][:1]
    oldest_kept = list(cutoff)
    if not oldest_kept:
        return 0
    deleted, _ = Beat.objects.filter(screen=screen, pk__lte=oldest_kept[0]).delete()
    return deleted


# --- Commands ------------------------------------------------------------------------------------


def issue_command(*, screen: Screen, kind: str, argument: str = "", by) -> ScreenCommand:
    """Give an enrolled screen a command; it goes out with the answer to its next beat. Logged."""
    if not screen.enrolled:
        raise CommandRefused(gettext("Commands go to enrolled screens only: enrol this screen first."))
    if kind not in ScreenCommand.Kind.values:
        raise CommandRefused(gettext("Unknown command %(kind)r.") % {"kind": kind})
    codes = [code for code, _name in settings.LANGUAGES]
    if kind == ScreenCommand.Kind.LANGUAGE and argument not in codes:
        raise CommandRefused(
            gettext("Unknown language %(code)r: expected one of %(codes)s.") % {"code": argument, "codes": ", ".join(codes)}
        )
    if kind != ScreenCommand.Kind.LANGUAGE:
        argument = ""
    now = timezone.now()
    with transaction.atomic():
        if kind in (ScreenCommand.Kind.MAINTENANCE_ON, ScreenCommand.Kind.MAINTENANCE_OFF):
            # The notice is the screen's state: a page that reloads (or was offline) shows it too.
            Screen.objects.filter(pk=screen.pk).update(maintenance=kind == ScreenCommand.Kind.MAINTENANCE_ON)
        command = ScreenCommand.objects.create(screen=screen, kind=kind, argument=argument, issued_by=by, issued_at=now)
        if by is not None:
            _log(by, screen, CHANGE, f"command: {command}")
    return command


def _take_acks(screen: Screen, acks: list[dict], now: datetime) -> None:
    for ack in acks:
        ScreenCommand.objects.filter(pk=ack["id"], screen=screen, acked_at__isnull=True).update(
            acked_at=now, ok=ack["ok"], detail=scrub(ack["detail"]), delivered_at=Coalesce(F("delivered_at"), Value(now))
        )


def _deliver(screen: Screen, now: datetime) -> list[ScreenCommand]:
    """Commands waiting for this screen (given within SCREENS_COMMAND_TTL_SECONDS), oldest first."""
    live_since = now - timedelta(seconds=settings.SCREENS_COMMAND_TTL_SECONDS)
    waiting = list(ScreenCommand.objects.filter(screen=screen, acked_at__isnull=True, issued_at__gte=live_since).order_by("pk"))
    ScreenCommand.objects.filter(pk__in=[c.pk for c in waiting if c.delivered_at is None]).update(delivered_at=now)
    return waiting


# --- Operators -----------------------------------------------------------------------------------


def _log(user, screen: Screen, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(user_id=user.pk, queryset=Screen.objects.filter(pk=screen.pk), action_flag=flag, change_message=message)


def ensure_operators_group() -> tuple[Group, list[str]]:
    """Create or reset the Screen operators group to exactly the screens' rights; returns (group, missing)."""
    group, _created, missing = groups.reset_group(OPERATORS_GROUP, OPERATOR_PERMISSIONS)
    return group, missing


def make_screen_operator(*, user) -> None:
    """Staff (so the admin lets them log in) and a member of Screen operators; no superuser rights."""
    group, _missing = ensure_operators_group()
    groups.join_as_staff(user=user, group=group)
