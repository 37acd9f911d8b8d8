"""Browser fixtures for the kiosk pages: a fake camera that films a real face (testkit/camera.py).

The face clip is written at test time and looped by Chromium's fake capture device. A second clip of an empty grey
wall gives the "no face" case its own browser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from testkit.camera import (  # noqa: F401 (the browser tests import these from here too)
    FAKE_CAMERA_FLAGS,
    FRAME_H,
    FRAME_W,
    KIOSK,
    PHONE,
    PORTRAIT_KIOSK,
    astronaut_frame,
    write_y4m,
)
from tests.browser import open_page


@pytest.fixture(scope="session")
def face_video(tmp_path_factory) -> Path:
    return write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m", astronaut_frame())


@pytest.fixture(scope="session")
def empty_video(tmp_path_factory) -> Path:
    wall = np.full((FRAME_H, FRAME_W, 3), (150, 140, 120), dtype=np.uint8)
    return write_y4m(tmp_path_factory.mktemp("camera") / "wall.y4m", wall)


@pytest.fixture(scope="session")
def browser_launch_args(face_video) -> list[str]:
    """Every browser in this folder films the astronaut through a fake camera."""
    return [*FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={face_video}"]


@pytest.fixture
def browser_context_args() -> dict:
    return dict(KIOSK)


@pytest.fixture
def empty_camera_browser(launch_browser, empty_video):
    """A second Chromium whose camera films an empty wall: no face to find."""
    return launch_browser([*FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={empty_video}"])


def watch_requests(page) -> set:
    """Requests the page has in flight (a set that empties as they finish or fail)."""
    inflight: set = set()
    page.on("request", lambda r: inflight.add(r))
    page.on("requestfinished", lambda r: inflight.discard(r))
    page.on("requestfailed", lambda r: inflight.discard(r))
    return inflight


def wait_quiet(page, inflight: set, *, quiet_ms: int = 300, timeout_ms: int = 5000) -> None:
    """Wait until no request has been in flight for ``quiet_ms`` (responses may start new ones)."""
    quiet = waited = 0
    while quiet < quiet_ms and waited < timeout_ms:
        page.wait_for_timeout(50)
        waited += 50
        quiet = 0 if inflight else quiet + 50


def settle(request, page, inflight: set) -> None:
    """Let the page go quiet, and leave it, before the database is flushed.

    The live server shares the test's in-memory SQLite connection: a request that reaches it
    while pytest-django flushes the database makes the flush fail with "database table is locked".
    The garden reports the screen on display when the page goes away (pagehide → /impression),
    and a capture goes on to load the garden. So: wait until the page is quiet, leave it (pagehide),
    wait again, and stop its timers by going to about:blank. A failed test keeps its page as it
    was, for the screenshot.
    """
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed or page.is_closed():
        return
    wait_quiet(page, inflight)
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    wait_quiet(page, inflight)
    page.goto("about:blank")


@pytest.fixture
def page(request, page):
    """The harness's page, settled before the database is flushed (see ``settle``)."""
    inflight = watch_requests(page)
    yield page
    settle(request, page, inflight)


@pytest.fixture
def empty_camera_page(request, empty_camera_browser):
    """A page in the empty-wall browser (kiosk-sized), with a screenshot kept if the test fails."""
    with open_page(request, empty_camera_browser, KIOSK) as page:
        inflight = watch_requests(page)
        yield page
        settle(request, page, inflight)
