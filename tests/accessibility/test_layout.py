"""What axe cannot measure: the low layout's reach on a portrait kiosk, and the kiosk at 200 % zoom.

``?layout=low`` on a 1080×1920 portrait screen: every visible button, link and select lies in the
lower 60 % of the screen, before a capture, with the garden and a like on screen, and with the idle
countdown. 200 % zoom: the browser draws the page at twice the scale on the same screen (a CSS
viewport half as wide and high, device scale factor 2), as Ctrl + does; nothing may need sideways
scrolling, and no control may be cut off, pushed off the screen or covered by another.
"""

from __future__ import annotations

import pytest

from tests.a11y import assert_accessible
from tests.kiosk.live_support import live_jobs, live_painter, paint_live_job  # noqa: F401 (fixture)
from tests.kiosk.test_garden_browser import capture, open_kiosk, seed_garden

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PORTRAIT_KIOSK = {"viewport": {"width": 1080, "height": 1920}, "permissions": ["camera"], "locale": "en"}
REACH = 0.4  # controls start below 40 % of the screen's height: the lower 60 % is within reach

# Every visible control (the skip link once focused): its name, its box in the page, and whether its text is cut off.
CONTROLS = """() => Array.from(document.querySelectorAll("button, a[href], select, input, textarea"))
  .filter((el) => !el.matches(".skip-link:not(:focus)"))  // off the screen until focused
  .filter((el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
                    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest("[hidden]"); })
  .map((el) => { const r = el.getBoundingClientRect();
    return {name: el.id || el.className || el.tagName, text: el.textContent.replace(/\\s+/g, " ").trim().slice(0, 40),
            x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
            clipped: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1}; })"""

# The control is the element drawn at its own centre (nothing covers it), once scrolled into view.
UNCOVERED = """(el) => { el.scrollIntoView({block: "center", inline: "center"}); const r = el.getBoundingClientRect();
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); return !!top && (top === el || el.contains(top)); }"""


def controls(page) -> list[dict]:
    return page.evaluate(CONTROLS)


def assert_within_reach(page, when: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    height = page.viewport_size["height"]
    found = controls(page)
    assert found, when
    high = [c for c in found if c["y"] < REACH * height or c["y"] + c["h"] > height]
    assert not high, f"{when}: controls outside the lower {1 - REACH:.0%} of a {height}px screen: {high}"


@pytest.fixture
def browser_context_args() -> dict:
    return dict(PORTRAIT_KIOSK)


def test_low_layout_keeps_every_control_within_reach(live_server, page):
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/kiosk/?layout=low&idle=4")
    assert "layout-low" in page.get_attribute("body", "class")
    assert_within_reach(page, "before a capture")
    page.keyboard.press("Tab")  # the skip link shows when focused: low too
    assert_within_reach(page, "with the skip link shown")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.locator("#garden .like-button").first.click()
    page.wait_for_selector("#garden .share-qr img")
    page.wait_for_selector("#visitor-code:not([hidden])")
    assert_within_reach(page, "with the garden, a like and its QR code")
    assert_accessible(page, where="the low layout with the garden")
    page.wait_for_selector("#idle-countdown:not([hidden])", timeout=10_000)
    assert_within_reach(page, "with the idle countdown")
    # Without the flag the page is the usual one (the picker and Capture sit high on the screen).
    open_kiosk(page, live_server, "/kiosk/")
    assert "layout-low" not in (page.get_attribute("body", "class") or "")
    assert min(c["y"] for c in controls(page)) < REACH * page.viewport_size["height"]


ZOOMED = {
    "kiosk-1920x1080": {"viewport": {"width": 960, "height": 540}, "device_scale_factor": 2},
    "portrait-kiosk-1080x1920": {"viewport": {"width": 540, "height": 960}, "device_scale_factor": 2},
}


def assert_nothing_lost(page, when: str) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{when}: the page scrolls sideways ({scroll_width}px in a {width}px window)"
    found = controls(page)
    off = [c for c in found if c["x"] < 0 or c["x"] + c["w"] > width + 0.5]
    assert not off, f"{when}: controls off the screen: {off}"
    clipped = [c for c in found if c["clipped"]]
    assert not clipped, f"{when}: controls whose text is cut off: {clipped}"
    overlapping = [
        (a["name"], b["name"])
        for i, a in enumerate(found)
        for b in found[i + 1 :]
        if a["x"] < b["x"] + b["w"] - 0.5
        and b["x"] < a["x"] + a["w"] - 0.5
        and a["y"] < b["y"] + b["h"] - 0.5
        and b["y"] < a["y"] + a["h"] - 0.5
    ]
    assert not overlapping, f"{when}: controls drawn over each other: {overlapping}"
    selector = "button:visible, a[href]:visible:not(.skip-link), select:visible"
    covered = [el.evaluate("el => el.id || el.className") for el in page.locator(selector).all() if not el.evaluate(UNCOVERED)]
    assert not covered, f"{when}: controls covered by something else: {covered}"


@pytest.mark.parametrize("screen", ZOOMED, ids=list(ZOOMED))
@pytest.mark.parametrize("layout", ["", "low"])
def test_the_kiosk_at_200_percent_zoom_loses_nothing(live_server, browser, request, screen, layout):
    from tests.browser import open_page
    from tests.kiosk.conftest import settle, watch_requests

    seed_garden(favorite="")
    with open_page(request, browser, {**ZOOMED[screen], "permissions": ["camera"], "locale": "en"}) as page:
        inflight = watch_requests(page)
        open_kiosk(page, live_server, f"/kiosk/?layout={layout}")
        assert page.evaluate("window.devicePixelRatio") == 2
        assert_nothing_lost(page, "before a capture")
        capture(page)
        page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
        page.locator("#garden .like-button").first.click()
        page.wait_for_selector("#garden .share-qr img")
        assert_nothing_lost(page, "with the garden and a like")
        settle(request, page, inflight)


LIVE_SCREENS = {
    "low-portrait-kiosk-1080x1920": ({**PORTRAIT_KIOSK}, "low"),
    "kiosk-1920x1080-at-200": ({**ZOOMED["kiosk-1920x1080"], "permissions": ["camera"], "locale": "en"}, ""),
    "portrait-kiosk-1080x1920-at-200": ({**ZOOMED["portrait-kiosk-1080x1920"], "permissions": ["camera"], "locale": "en"}, ""),
}


@pytest.mark.usefixtures("live_painter")
@pytest.mark.parametrize("screen", LIVE_SCREENS, ids=list(LIVE_SCREENS))
def test_the_live_tile_keeps_the_layout(live_server, browser, request, screen):
    """The live picture's tile, painting and painted with a like and its QR code: the low layout keeps
    every control within reach, 200 % zoom loses nothing."""
    from tests.browser import open_page
    from tests.kiosk.conftest import settle, watch_requests

    context, layout = LIVE_SCREENS[screen]
    check = assert_within_reach if layout == "low" else assert_nothing_lost
    seed_garden(favorite="")
    with open_page(request, browser, context) as page:
        inflight = watch_requests(page)
        open_kiosk(page, live_server, f"/kiosk/?layout={layout}")
        capture(page)
        page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
        page.wait_for_selector("#live-tile progress")
        check(page, "with the live picture painting")
        paint_live_job(live_jobs().get())
        page.locator("#live-tile .like-button").click()
        page.locator("#garden .like-button").first.click()
        page.wait_for_selector("#live-tile .share-qr img")
        page.wait_for_selector("#garden .share-qr img")
        check(page, "with the live picture painted, and a like on it and on a garden picture")
        settle(request, page, inflight)
