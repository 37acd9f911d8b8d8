"""Driving an enrolled kiosk in Chromium: enrol it through its link, wait for beats and acks."""

from __future__ import annotations

import time

from django.db import OperationalError

from screens import services
from screens.models import Beat, Screen, ScreenCommand
from testkit.servers import scrape_metrics as scrape  # noqa: F401 (the browser tests read /metrics through it)

# Short beats keep the tests quick; "within one beat" is measured against this interval.
BEAT_SECONDS = 2.0
# What a loaded two-core machine may add to a beat's round trip in these tests (the live server shares
# one SQLite database with the test: a read meeting the server's write is a 503, retried). The aims
# themselves are measured by bench/fleet.py against a real server, not asserted here.
SLACK = 3.0
POLL = 0.2  # seconds between reads of the database: fewer meetings with the server's writes


def wait_until(predicate, *, timeout: float = 10.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OperationalError as exc:  # the shared in-memory SQLite: "table is locked" is "not yet"
            if "locked" not in str(exc):
                raise
            value = None
        if value:
            return value
        time.sleep(POLL)
    raise AssertionError(f"timed out waiting for {message}")


MARKER = "() => { window.__sameDocument = true; return true; }"


def same_document(page) -> bool:
    """Whether the page still shows the document MARKER was set in (False while it navigates)."""
    try:
        return page.evaluate("() => window.__sameDocument === true")
    except Exception as exc:  # Playwright's "Execution context was destroyed": a navigation is under way
        if "context" in str(exc) or "navigat" in str(exc):
            return False
        raise


def fast_beats(settings) -> None:
    settings.SCREENS_BEAT_SECONDS = BEAT_SECONDS
    settings.SCREENS_BEATS_PER_MINUTE = 600


def enrol(page, base_url: str, *, name: str = "Hall kiosk", kind: str = "kiosk", zone: str = "") -> Screen:
    """Create the screen as an operator would and open its enrolment link in the page; returns once
    the page it leads to has loaded."""
    screen = Screen.objects.create(name=name, kind=kind, zone=zone, location="hall")
    token = services.open_enrolment(screen=screen)
    page.goto(f"{base_url}/screens/enrol/{token}")
    page.wait_for_url("**/kiosk/" if kind == "kiosk" else f"**/display/{zone}/", timeout=15_000)
    screen.refresh_from_db()
    assert screen.enrolled
    return screen


def beats(screen: Screen):
    return Beat.objects.filter(screen=screen).order_by("pk")


def newest_beat(screen: Screen) -> dict:
    beat = Beat.objects.filter(screen=screen).order_by("-pk").first()
    return beat.data if beat else {}


def wait_for_beat(screen: Screen, predicate=lambda data: True, *, after: int = 0, timeout: float = 15.0, message: str = "a beat") -> dict:
    """The first beat after pk ``after`` whose data satisfies ``predicate``."""

    def found():
        for beat in Beat.objects.filter(screen=screen, pk__gt=after).order_by("pk"):
            if predicate(beat.data):
                return beat.data
        return None

    return wait_until(found, timeout=timeout, message=message)


def last_beat_pk(screen: Screen) -> int:
    beat = Beat.objects.filter(screen=screen).order_by("-pk").first()
    return beat.pk if beat else 0


def give(screen: Screen, kind: str, argument: str = "", *, by=None) -> tuple[ScreenCommand, float]:
    """Give a command; returns it and the monotonic time it was given."""
    return services.issue_command(screen=screen, kind=kind, argument=argument, by=by), time.monotonic()


def wait_for_ack(command: ScreenCommand, *, timeout: float = 15.0) -> tuple[ScreenCommand, float]:
    """The command once acknowledged, and the monotonic time that was seen."""

    def acked():
        command.refresh_from_db()
        return command.acked_at is not None

    wait_until(acked, timeout=timeout, message=f"the page to acknowledge {command.kind}")
    return command, time.monotonic()
