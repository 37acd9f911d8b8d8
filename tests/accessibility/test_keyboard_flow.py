"""The kiosk by keyboard alone (Tab, Enter, Space; no clicks, no focus() from the test), and what
a screen reader is told at each step: the text the live regions (role=status/alert, aria-live)
take, recorded as it changes, and the name and state of the focused control."""

from __future__ import annotations

import re

import pytest

from recommend.models import Interaction
from tests.kiosk.conftest import KIOSK
from tests.kiosk.test_garden_browser import open_kiosk, seed_garden, wait_until

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every text a live region takes, in order: what assistive technology announces.
RECORD_ANNOUNCEMENTS = """
window.__announced = [];
document.addEventListener("DOMContentLoaded", () => {
  const regions = document.querySelectorAll("[role=status], [role=alert], [aria-live]");
  const note = (el) => {
    const text = el.textContent.replace(/\\s+/g, " ").trim();
    if (text && !el.hidden && el.getAttribute("aria-busy") !== "true") { window.__announced.push([el.id, text]); }
  };
  const observer = new MutationObserver((changes) => {
    for (const change of changes) {
      const region = change.target.nodeType === 1 ? change.target.closest("[role=status], [role=alert], [aria-live]")
        : change.target.parentElement.closest("[role=status], [role=alert], [aria-live]");
      if (region) { note(region); }
    }
  });
  const watch = {childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["hidden", "aria-busy"]};
  regions.forEach((el) => observer.observe(el, watch));
});
"""


@pytest.fixture
def browser_context_args() -> dict:
    return {**KIOSK, "locale": "en"}


def focused(page) -> dict:
    """The focused element: its id, tag, accessible name as the browser computes it, pressed state."""
    return page.evaluate(
        """() => { const el = document.activeElement;
          return {id: el.id, tag: el.tagName, text: el.textContent.replace(/\\s+/g, " ").trim(),
                  pressed: el.getAttribute("aria-pressed"), cls: el.className}; }"""
    )


def tab_to(page, matches, *, limit: int = 40) -> dict:
    """Press Tab until the focused element matches (a predicate on ``focused``), as a visitor would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if matches(now):
            return now
    raise AssertionError(f"Tab never reached the control; focus is on {focused(page)}")


def announcements(page, since: int = 0) -> list[tuple[str, str]]:
    return [tuple(item) for item in page.evaluate("window.__announced")[since:]]


def announced_count(page) -> int:
    return page.evaluate("window.__announced.length")


def test_the_kiosk_flow_by_keyboard_alone_is_announced(live_server, page):
    seed_garden(favorite="")
    page.add_init_script(RECORD_ANNOUNCEMENTS)
    open_kiosk(page, live_server)

    # The first Tab reaches the skip link; following it puts focus on the main content.
    page.keyboard.press("Tab")
    assert focused(page)["cls"] == "skip-link"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    # Capture: Tab to it, Enter. Focus stays on it (it is disabled while the photo is looked at).
    tab_to(page, lambda f: f["id"] == "capture-button")
    mark = announced_count(page)
    with page.expect_response(lambda r: r.url.endswith("/emotion")):
        page.keyboard.press("Enter")
    page.wait_for_selector("#emotion-result:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.wait_for_selector('#garden-state[data-state="ok"]')
    said = announcements(page, mark)
    capture_said = [text for region, text in said if region == "capture-state"]
    garden_said = [text for region, text in said if region == "garden-state"]
    emotion = page.inner_text("#result-emotion")
    assert capture_said and capture_said[-1].startswith("Result: ") and emotion.split(" ")[0] in capture_said[-1], said
    assert garden_said and garden_said[-1].startswith("Your garden is ready."), said
    assert not any("No face" in text for _, text in said), said
    assert focused(page)["id"] == "capture-button"  # the keyboard user is where they were

    # The emotion result is reachable in reading order after the capture state.
    order = page.evaluate(
        "() => [document.getElementById('capture-state'), document.getElementById('emotion-result')]"
        ".map(el => el.compareDocumentPosition(document.getElementById('garden')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert all(order)

    # The garden: Tab on to the first picture's like button; its name is its visible text and it
    # is described by the picture (its alt text starts with the AI-generated label).
    like = tab_to(page, lambda f: "like-button" in f["cls"])
    assert like["pressed"] == "false", like
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(r"^Like\b"))
    description = page.evaluate(
        "() => { const b = document.activeElement; return document.getElementById(b.getAttribute('aria-describedby')).alt; }"
    )
    assert description.startswith("AI-generated"), description

    # A like with Space: pressed, the QR code shows, and focus is still on the button.
    page.keyboard.press("Space")
    page.wait_for_selector('#garden .like-button[aria-pressed="true"]:not([disabled])')
    wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.CLICK).exists(), message="like row")
    now = focused(page)
    assert "like-button" in now["cls"] and now["pressed"] == "true", now
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(r"^Liked\b"))
    page.wait_for_selector("#garden .share-qr img")

    # Next: Tab onwards (past the end of the page focus comes round again), Enter; the position is announced.
    tab_to(page, lambda f: f["id"] == "next-button")
    mark = announced_count(page)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('garden-position').textContent.includes('2–4 of 4')")
    said = announcements(page, mark)
    assert any(region == "garden-position" and "2–4 of 4" in text for region, text in said), said
    assert focused(page)["id"] == "next-button"

    # New visitor: everything starts over, focus goes to Capture for the next person, and the
    # capture state tells them what to do.
    tab_to(page, lambda f: f["id"] == "new-visitor")
    mark = announced_count(page)
    page.keyboard.press("Enter")
    page.wait_for_selector('#capture-state[data-state="idle"]')
    said = announcements(page, mark)
    assert any(region == "capture-state" and text.startswith("Press Capture to begin") for region, text in said), said
    assert page.locator("#garden img").count() == 0
    assert focused(page)["id"] == "capture-button"

    # And the next visitor can start with Space.
    with page.expect_response(lambda r: r.url.endswith("/emotion")) as answer:
        page.keyboard.press("Space")
    assert "x-user-id" not in answer.value.request.headers  # a new visitor
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
