"""The kiosk outbox (garden/static/kiosk/outbox.js) in real headless Chromium against the live server.

Likes made while the network is gone (the browser context offline, or /like answering 503 or
failing) show as done, wait in localStorage, and arrive exactly once each when the network is
back: the rows are counted in the database. Nothing is stubbed but the network in between.
"""

from __future__ import annotations

import time

import pytest

from recommend.models import Interaction
from tests.kiosk.test_garden_browser import capture, choose_favorite, keys_on_screen, like_button, open_kiosk, seed_garden, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTBOX = "JSON.parse(localStorage.getItem('garden.kiosk.outbox.v1') || '[]')"
THREE_IMAGES = "() => document.querySelectorAll('#garden img').length === 3"
START_STATE = '#capture-state[data-state="idle"]'


def likes():
    return Interaction.objects.filter(event_type=Interaction.Event.CLICK)


def dislikes():
    return Interaction.objects.filter(event_type=Interaction.Event.DISLIKE)


def waiting(page) -> list[dict]:
    return page.evaluate(OUTBOX)


def start_garden(page, live_server, path: str = "/kiosk/") -> tuple[dict, list[str]]:
    open_kiosk(page, live_server, path)
    choose_favorite(page)
    result, _ = capture(page)
    page.wait_for_function(THREE_IMAGES)
    return result, keys_on_screen(page)


def press(page, key: str, pressed: bool) -> None:
    """Click a like button: it shows the new state at once, enabled, with no error anywhere."""
    like_button(page, key).click()
    state = "true" if pressed else "false"
    page.wait_for_selector(f'#garden .like-button[data-key="{key}"][aria-pressed="{state}"]:not([disabled])', timeout=2000)
    assert_no_error(page)


def assert_no_error(page) -> None:
    assert page.locator('[role="alert"]:visible').count() == 0
    assert page.locator('[data-state="error"]').count() == 0


def record_keys(page, path: str) -> list[str]:
    """The Idempotency-Key of every request the page makes to ``path`` (sent or failed)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.headers.get("idempotency-key", "")) if r.url.endswith(path) else None)
    return seen


def offline_spell(page, live_server, seconds: float) -> None:
    """Three likes and an undo while the browser is offline for ``seconds``; each arrives once."""
    seed_garden()
    visitor, shown = start_garden(page, live_server)
    sent = record_keys(page, "/like")
    page.context.set_offline(True)
    for key in shown:
        press(page, key, True)
    press(page, shown[0], False)  # the undo follows its like, in order
    assert [(e["url"], e["body"]["itemId"]) for e in waiting(page)] == [
        *(("/like", key) for key in shown),
        ("/dislike", shown[0]),
    ]
    assert all(e["body"]["id"] == visitor["id"] for e in waiting(page))
    page.wait_for_timeout(seconds * 1000)
    assert likes().count() == 0 and dislikes().count() == 0
    assert_no_error(page)

    page.context.set_offline(False)
    wait_until(lambda: dislikes().exists(), timeout=15, message="the undo delivered")
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
    page.wait_for_timeout(1000)  # nothing more comes
    assert sorted(likes().values_list("item_key", flat=True)) == sorted(shown)
    assert list(dislikes().values_list("item_key", flat=True)) == [shown[0]]
    assert {str(v) for v in Interaction.objects.values_list("visitor_id", flat=True)} == {visitor["id"]}
    # The undo reached the server after its like.
    assert dislikes().get().created_at >= likes().get(item_key=shown[0]).created_at
    # Every like had its key from the start: tried offline, then sent again with the same one.
    assert all(sent) and len(set(sent)) == 3
    assert_no_error(page)


def test_likes_made_offline_arrive_exactly_once_when_back_online(live_server, page):
    offline_spell(page, live_server, seconds=2)


@pytest.mark.slow
def test_twenty_second_offline_spell(live_server, page):
    """Issue 42's browser fault scenario: the hall's network gone for 20 s while a visitor likes pictures."""
    offline_spell(page, live_server, seconds=20)


@pytest.mark.parametrize("lost", [False, True], ids=["refused", "answer-lost"])
def test_a_503_with_retry_after_is_retried_and_stored_once(live_server, page, lost):
    """/like answers 503 with Retry-After once: refused before the server saw it, or stored by the
    server with its answer lost on the way back. Either way the resend stores exactly one row."""
    seed_garden()
    _, shown = start_garden(page, live_server)
    attempts: list[tuple[float, str]] = []

    def first_fails(route):
        attempts.append((time.monotonic(), route.request.headers.get("idempotency-key", "")))
        if len(attempts) > 1:
            route.continue_()
            return
        if lost:
            route.fetch()  # the server stores the like; the kiosk never hears so
        route.fulfill(status=503, headers={"Retry-After": "2"}, json={"detail": "The database is unavailable; try again shortly."})

    page.route("**/like", first_fails)
    with page.expect_response(lambda r: r.url.endswith("/like") and r.status == 200, timeout=10_000) as info:
        press(page, shown[1], True)
    assert info.value.headers.get("idempotent-replayed") == ("true" if lost else None)
    assert len(attempts) == 2
    (first_at, first_key), (again_at, again_key) = attempts
    assert first_key and again_key == first_key
    assert again_at - first_at >= 1.8  # Retry-After: 2 was honoured
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
    assert list(likes().values_list("item_key", flat=True)) == [shown[1]]
    assert_no_error(page)


def test_a_reload_and_an_idle_reset_keep_waiting_likes(live_server, page):
    seed_garden()
    first_visitor, first_shown = start_garden(page, live_server, "/kiosk/?idle=2")
    page.route("**/like", lambda route: route.abort("internetdisconnected"))
    press(page, first_shown[0], True)
    # The idle reset starts over for the next person; the like waits on.
    page.wait_for_selector(START_STATE, timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 0")
    assert [e["body"]["itemId"] for e in waiting(page)] == [first_shown[0]]

    # The next visitor likes a picture too; then the kiosk reloads (a crash, a restart).
    second_visitor, shown = start_garden(page, live_server, "/kiosk/?idle=0")
    assert second_visitor["id"] != first_visitor["id"]
    press(page, shown[2], True)
    page.reload()
    open_kiosk(page, live_server, "/kiosk/?idle=0")
    kept = [(e["body"]["id"], e["body"]["itemId"]) for e in waiting(page) if e["url"] == "/like"]
    assert kept == [(first_visitor["id"], first_shown[0]), (second_visitor["id"], shown[2])]
    assert likes().count() == 0

    page.unroute("**/like")
    page.reload()  # a page load sends what waits
    wait_until(lambda: likes().count() == 2, message="both likes delivered")
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
    assert {(str(v), k) for v, k in likes().values_list("visitor_id", "item_key")} == set(kept)


def test_the_outbox_is_bounded_oldest_dropped_first(live_server, page, settings):
    settings.GARDEN_KIOSK_OUTBOX_MAX_EVENTS = 2
    seed_garden()
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    _, shown = start_garden(page, live_server)
    assert page.get_attribute("#kiosk", "data-outbox-max-events") == "2"
    page.context.set_offline(True)
    for key in shown:
        press(page, key, True)
    assert [e["body"]["itemId"] for e in waiting(page)] == shown[1:]
    assert any("dropping the oldest" in text for text in warnings)
    page.context.set_offline(False)
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
    page.wait_for_timeout(500)
    assert sorted(likes().values_list("item_key", flat=True)) == sorted(shown[1:])


def test_an_event_older_than_the_limit_is_dropped(live_server, page, settings):
    settings.GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS = 2
    seed_garden()
    _, shown = start_garden(page, live_server)
    page.context.set_offline(True)
    press(page, shown[0], True)
    page.wait_for_timeout(2500)
    page.context.set_offline(False)
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
    page.wait_for_timeout(500)
    assert likes().count() == 0


def test_a_refused_event_is_dropped_and_the_next_one_sent(live_server, page):
    """A 4xx will never be accepted: it is logged and dropped, and does not hold up what follows."""
    seed_garden()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _, shown = start_garden(page, live_server)
    page.route("**/like", lambda route: route.fulfill(status=400, json={"detail": "bad"}), times=1)
    press(page, shown[0], True)
    press(page, shown[1], True)
    wait_until(lambda: likes().count() == 1, message="the second like")
    assert likes().get().item_key == shown[1]
    assert any("refused with 400" in text for text in errors)
    wait_until(lambda: waiting(page) == [], message="the outbox emptied")
