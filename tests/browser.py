"""Real headless Chromium for browser tests, driven by Playwright.

Playwright's own browser download cannot work here, so it drives Debian's /usr/bin/chromium
(override with GARDEN_CHROMIUM). tests/conftest.py loads this module as a plugin, so every test
can ask for ``page``. A folder's conftest may override ``browser_launch_args`` (e.g. a fake
camera) and ``browser_context_args`` (viewport, permissions): browsers are cached per set of
launch flags, so each folder gets the Chromium it asked for whatever ran first.
A failing test leaves a screenshot under test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest

from testkit.chromium import CHROMIUM_ARGS, chromium_path, launch_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def launch_browser():
    """``launch_browser(extra_args)``: a Chromium with those extra flags, started once per session."""
    executable = chromium_path()
    if not executable:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop; Django refuses ORM calls from inside one unless told.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    launched = {}
    with sync_api.sync_playwright() as playwright:

        def launch(extra_args=()):
            flags = tuple(extra_args)
            if flags not in launched:
                launched[flags] = launch_chromium(playwright, [*CHROMIUM_ARGS, *flags])
            return launched[flags]

        yield launch
        for chromium in launched.values():
            chromium.close()


@pytest.fixture(scope="session")
def browser_launch_args() -> list[str]:
    """Extra Chromium flags; override in a conftest (e.g. a fake camera)."""
    return []


@pytest.fixture
def browser(launch_browser, browser_launch_args):
    return launch_browser(browser_launch_args)


@pytest.fixture
def browser_context_args() -> dict:
    """Per-test context options (viewport, permissions); override in a conftest."""
    return {"viewport": {"width": 1280, "height": 800}}


@contextlib.contextmanager
def open_page(request, browser, context_args: dict):
    """A page in a fresh context; a screenshot of it is kept if the test fails."""
    context = browser.new_context(**context_args)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
        if "live_server" in request.fixturenames:
            finish_requests(request.getfixturevalue("live_server"))


def finish_requests(live_server, timeout: float = 10.0, quiet: float = 0.3) -> None:
    """Wait for the live server's request threads to end before the test's database is flushed.

    On SQLite the server threads share the test's connection: a request still running (an image
    the page asked for last) while the flush runs breaks the flush ("couldn't be flushed"). A
    request the closed page had already sent can still be accepted after the first join, so wait
    until no thread has run for ``quiet`` seconds.
    """
    deadline = time.monotonic() + timeout
    httpd = getattr(live_server.thread, "httpd", None)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        running = [thread for thread in list(getattr(httpd, "_threads", None) or ()) if thread.is_alive()]
        if running:
            for thread in running:
                thread.join(max(0.0, deadline - time.monotonic()))
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
        else:
            time.sleep(0.05)


@pytest.fixture
def page(request, browser, browser_context_args):
    with open_page(request, browser, browser_context_args) as page:
        yield page


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css)[:3])


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed CSS colours ("rgb(255, 255, 255)")."""

    def luminance(rgb):
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(_rgb(foreground)), luminance(_rgb(background))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def assert_ai_labelled(
    picture,
    badge,
    *,
    name: str = "AI-generated",
    words: tuple[str, ...] = ("AI-generated",),
    min_px: float = 14.0,
) -> None:
    """The AI-generated label (garden/labels.py) of ``picture``: ``badge`` is visible, inside the
    viewport, over the picture, readable (opaque background, WCAG AA contrast, text at least
    ``min_px`` high), and the picture's accessible name starts with the label's words (the defaults:
    an English page without a second language, docs/languages.md)."""
    from playwright.sync_api import expect

    picture.scroll_into_view_if_needed()
    expect(picture).to_have_accessible_name(re.compile("^" + re.escape(name)))
    expect(badge).to_be_visible()
    text = badge.inner_text()
    assert all(word in text for word in words), text
    box, under = badge.bounding_box(), picture.bounding_box()
    assert box and under and box["width"] > 0 and box["height"] > 0, (box, under)
    view = picture.page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"], (box, view)
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"], (box, view)
    # Over the picture: the badge's box lies inside the picture's.
    assert under["x"] - 1 <= box["x"] and box["x"] + box["width"] <= under["x"] + under["width"] + 1, (box, under)
    assert under["y"] - 1 <= box["y"] and box["y"] + box["height"] <= under["y"] + under["height"] + 1, (box, under)
    style = badge.evaluate("el => { const s = getComputedStyle(el); return [s.color, s.backgroundColor, s.fontSize, s.opacity]; }")
    color, background, size, opacity = style
    assert background.startswith("rgb(") and float(opacity) == 1, style  # opaque: the picture never shows through
    assert contrast_ratio(color, background) >= 4.5, style
    assert float(size.removesuffix("px")) >= min_px, style
