"""The garden kiosk's idle reset in real headless Chromium, filmed by the fake camera.

A tiny idle time (``?idle=2``: two seconds, then a two-second countdown) keeps the tests fast.
Nothing is stubbed except, in one test, a delay put in front of /garden.
"""

from __future__ import annotations

import pytest

from garden.models import Visitor
from recommend.models import Interaction
from tests.kiosk.conftest import KIOSK, PHONE
from tests.kiosk.test_garden_browser import CONTRAST_SCRIPT, capture, choose_favorite, keys_on_screen, open_kiosk, seed_garden, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNTDOWN = "#idle-countdown"
SHOWN = f"{COUNTDOWN}:not([hidden])"
THREE_IMAGES = "() => document.querySelectorAll('#garden img').length === 3"
CAMERA_LIVE = "(() => { const v = document.getElementById('camera'); return !!v.srcObject && v.srcObject.active && !v.paused; })()"


def impressions():
    return Interaction.objects.filter(event_type=Interaction.Event.IMPRESSION)


def assert_start_state(page) -> None:
    assert page.get_attribute("#capture-state", "data-state") == "idle"
    assert page.get_attribute("#garden-state", "data-state") == "idle"
    assert page.locator("#emotion-result").is_hidden()
    assert page.locator("#garden").is_hidden() and page.locator("#garden img").count() == 0
    assert page.locator("#next-button").is_hidden()
    assert page.inner_text("#garden-position") == ""
    for select in ("#favorite-season", "#favorite-weather", "#favorite-time"):
        assert page.input_value(select) == ""
    # The camera preview stays on: same live stream, playing, Capture ready.
    assert page.evaluate(CAMERA_LIVE)
    assert not page.is_disabled("#capture-button")


def test_idle_resets_to_the_start_state_and_the_next_capture_is_a_new_visitor(live_server, page):
    seed_garden()
    open_kiosk(page, live_server, "/kiosk/?idle=2")
    assert page.get_attribute("#kiosk", "data-idle-seconds") == "90"  # the setting; the URL wins
    assert page.locator(COUNTDOWN).is_hidden()
    choose_favorite(page)
    first, sent = capture(page)
    assert "x-user-id" not in sent
    page.wait_for_function(THREE_IMAGES)
    on_screen = keys_on_screen(page)

    # Idle: the countdown shows, in the page's language, and is said once in a polite live region
    # (every language: test_languages_browser.py).
    page.wait_for_selector(SHOWN, timeout=6000)
    text = page.inner_text(COUNTDOWN)
    assert "Starting over in" in text
    assert page.get_attribute("#idle-announce", "aria-live") == "polite"
    assert "Starting over in" in page.text_content("#idle-announce")

    # Then the start state, and the unliked screen reported as exactly one impression.
    page.wait_for_selector(COUNTDOWN, state="hidden", timeout=6000)
    page.wait_for_selector('#capture-state[data-state="idle"]')
    assert_start_state(page)
    row = wait_until(lambda: impressions().first(), message="impression row")
    assert row.impression == on_screen
    assert str(row.visitor_id) == first["id"]

    # At the start state the countdown does not come back (nothing to reset).
    page.wait_for_timeout(2600)
    assert page.locator(COUNTDOWN).is_hidden()

    # The next person: no X-user-id, a new visitor id (and a new Visitor row).
    choose_favorite(page)
    second, sent = capture(page)
    assert "x-user-id" not in sent
    assert second["id"] != first["id"]
    assert set(map(str, Visitor.objects.values_list("id", flat=True))) == {first["id"], second["id"]}
    page.wait_for_function(THREE_IMAGES)
    # The first visitor's screen was reported once: not again by the new capture.
    assert impressions().count() == 1


@pytest.mark.parametrize("browser_context_args", [KIOSK, PHONE], ids=["kiosk-1920x1080", "phone-390x844"])
def test_input_during_the_countdown_cancels_it(live_server, page, browser_context_args):
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/kiosk/?idle=2")
    first, _ = capture(page)
    page.wait_for_function(THREE_IMAGES)
    on_screen = keys_on_screen(page)

    # The countdown fits the screen and keeps WCAG AA contrast.
    page.wait_for_selector(SHOWN, timeout=6000)
    box = page.locator(".idle-card").bounding_box()
    viewport = browser_context_args["viewport"]
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= viewport["width"] and box["y"] + box["height"] <= viewport["height"]
    report = page.evaluate(CONTRAST_SCRIPT)
    assert report["failures"] == []

    # A key cancels it (keyboard only: nothing focused, nothing clicked).
    page.keyboard.press("Shift")
    page.wait_for_selector(COUNTDOWN, state="hidden")
    assert page.text_content("#idle-announce") == ""

    # It comes back after the idle time; a tap (phone) or a mouse click (kiosk) cancels it too.
    page.wait_for_selector(SHOWN, timeout=6000)
    if browser_context_args is PHONE:
        page.touchscreen.tap(5, 5)
    else:
        page.mouse.click(5, 5)
    page.wait_for_selector(COUNTDOWN, state="hidden")

    # Nothing was reset: same result, same garden, same visitor, no impression yet.
    page.wait_for_timeout(1000)
    assert page.locator(COUNTDOWN).is_hidden()
    assert page.get_attribute("#capture-state", "data-state") == "ok"
    assert keys_on_screen(page) == on_screen
    assert not impressions().exists()
    _, sent = capture(page)
    assert sent.get("x-user-id") == first["id"]


# Holds every /garden call for a while in the page itself (a Playwright route handler would block
# the sync API's event loop while it waits).
SLOW_GARDEN_SCRIPT = """
const realFetch = window.fetch;
window.fetch = (url, options) => String(url).endsWith('/garden')
  ? new Promise((resolve) => setTimeout(resolve, 3500)).then(() => realFetch(url, options))
  : realFetch(url, options);
"""


def test_no_reset_while_a_request_is_in_flight(live_server, page):
    page.add_init_script(SLOW_GARDEN_SCRIPT)
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/kiosk/?idle=1")
    first, _ = capture(page)
    # /garden is on its way for 3.5 s, longer than the idle time and its countdown: no reset.
    page.wait_for_selector('#garden-state[data-state="busy"]')
    page.wait_for_timeout(2500)
    assert page.locator(COUNTDOWN).is_hidden()
    assert page.get_attribute("#garden-state", "data-state") == "busy"
    # The garden shows; the idle time starts again from there, then the reset reports that screen.
    page.wait_for_function(THREE_IMAGES)
    on_screen = keys_on_screen(page)
    page.wait_for_selector(SHOWN, timeout=6000)
    page.wait_for_selector('#capture-state[data-state="idle"]', timeout=6000)
    row = wait_until(lambda: impressions().first(), message="impression row")
    assert row.impression == on_screen and str(row.visitor_id) == first["id"]
    assert impressions().count() == 1
