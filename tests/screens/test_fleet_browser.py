"""Issue 50's "done when", in real headless Chromium filmed by the fake camera, against the live server:
an enrolled kiosk is ok within one beat and silent within the aim once closed (the metric says so);
reload, start over, language and maintenance are obeyed and acknowledged within a beat; a camera that
stops or freezes is reported and recovered; a new server version, a loop of errors or a heap past its
bound reload the page at its next idle moment, never in front of a visitor; an unenrolled page works as
before and is listed. Beats are every BEAT_SECONDS here (the default is 15 s)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from config.version import page_version
from screens import selectors, status
from screens.models import Screen
from tests.a11y import assert_accessible
from tests.kiosk.test_garden_browser import capture, choose_favorite, open_kiosk, seed_garden
from tests.screens.browser_support import (
    BEAT_SECONDS,
    MARKER,
    SLACK,
    enrol,
    fast_beats,
    give,
    last_beat_pk,
    newest_beat,
    same_document,
    wait_for_ack,
    wait_for_beat,
    wait_until,
)
from tests.screens.support import beat_body, enrolled_screen, post_beat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_beats(settings):
    fast_beats(settings)
    settings.GARDEN_METRICS_ALLOWED_IPS = ["127.0.0.1"]


def metrics() -> str:
    return Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()


def current_status(screen: Screen) -> str:
    screen.refresh_from_db()
    return status.assess(screen, timezone.now()).status


def kiosk_ready(page) -> None:
    page.wait_for_function("() => !document.getElementById('capture-button').disabled")


def test_an_enrolled_kiosk_is_ok_within_one_beat_and_silent_within_the_aim_once_closed(live_server, page):
    screen = enrol(page, live_server.url)
    loaded = time.monotonic()
    wait_until(lambda: current_status(screen) == "ok", timeout=BEAT_SECONDS + 10, message="ok on the fleet page")
    assert time.monotonic() - loaded <= BEAT_SECONDS + SLACK, "not ok within one beat"
    beat = newest_beat(screen)
    assert beat["kind"] == "kiosk" and beat["page"] == "/kiosk/" and beat["language"] == "en"
    assert beat["screen"] == {"width": 1920, "height": 1080, "dpr": 1}
    assert beat["wakeLock"] in ("held", "refused", "released", "unsupported")
    assert 'garden_screens{status="ok"} 1.0' in metrics()

    page.goto("about:blank")  # the tab goes away: no goodbye, the beats just stop
    closed = time.monotonic()
    wait_until(lambda: 'garden_screens{status="silent"} 1.0' in metrics(), timeout=30, message="silent on /metrics")
    took = time.monotonic() - closed
    # Two missed beats and a fifth of one: 5 s at 2 s beats (33 s at the default 15 s, within the 35 s aim).
    assert took <= status.silent_after(BEAT_SECONDS) + SLACK
    assert current_status(screen) == "silent"


def test_reload_is_obeyed_and_acknowledged_within_a_beat(live_server, page):
    screen = enrol(page, live_server.url)
    wait_for_beat(screen)
    page.evaluate(MARKER)
    command, given = give(screen, "reload")
    command, acked = wait_for_ack(command)
    assert command.ok is True
    assert acked - given <= BEAT_SECONDS + SLACK
    wait_until(lambda: not same_document(page), message="the page reloaded")
    kiosk_ready(page)
    # Obeyed once: the new page does not reload again for the same command.
    page.evaluate(MARKER)
    wait_for_beat(screen, after=last_beat_pk(screen))
    page.wait_for_timeout(int(BEAT_SECONDS * 1000))
    assert same_document(page)


def test_start_over_resets_the_visitor_like_the_idle_reset(live_server, page):
    seed_garden()
    screen = enrol(page, live_server.url)
    kiosk_ready(page)
    choose_favorite(page)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    wait_for_beat(screen, lambda data: data["visitors"] == 1, message="a beat counting the visitor")
    page.evaluate(MARKER)
    command, given = give(screen, "start_over")
    command, acked = wait_for_ack(command)
    assert command.ok is True and acked - given <= BEAT_SECONDS + SLACK
    page.wait_for_function("() => document.getElementById('capture-state').dataset.state === 'idle'")
    assert page.locator("#garden img").count() == 0
    assert page.input_value("#favorite-season") == ""
    assert same_document(page)  # in place, not a reload
    screen.refresh_from_db()
    assert screen.visitors_today == 1


def test_switch_language_opens_the_kiosk_in_it(live_server, page):
    screen = enrol(page, live_server.url)
    # From `/`, the address the README gives (issue 63: it carried no language addresses, and the
    # command was acknowledged "failed no address for language ko").
    page.goto(live_server.url + "/")
    wait_for_beat(screen, lambda data: data["page"] == "/", message="a beat from /")
    command, given = give(screen, "language", "ko")
    command, acked = wait_for_ack(command)
    assert command.ok is True and acked - given <= BEAT_SECONDS + SLACK
    page.wait_for_url("**/ko/kiosk/")
    assert page.get_attribute("html", "lang") == "ko"
    wait_for_beat(screen, lambda data: data["language"] == "ko", after=last_beat_pk(screen), message="a beat in Korean")


def test_maintenance_screen_on_and_off(live_server, page):
    screen = enrol(page, live_server.url)
    kiosk_ready(page)
    command, given = give(screen, "maintenance_on")
    command, acked = wait_for_ack(command)
    assert command.ok is True and acked - given <= BEAT_SECONDS + SLACK
    notice = page.locator("#screen-maintenance")
    notice.wait_for(state="visible")
    assert "taking a short break" in notice.inner_text()
    box = notice.bounding_box()
    assert box["width"] == 1920 and box["height"] == 1080  # full screen
    assert page.evaluate("() => document.getElementById('main').inert")  # nothing under it can be reached
    assert_accessible(page, where="the maintenance notice")
    wait_for_beat(screen, lambda data: data["maintenance"] is True, message="a beat saying the notice shows")
    # A reload (or a restart of the page) keeps it: the notice is the screen's state, and it is up from
    # the first paint, before any beat is answered (issue 63: Capture was usable for about a second,
    # and the first beat logged a false "maintenance off"). Beats are refused while the page loads.
    before = newest_beat(screen)["load"]
    page.route("**/screens/beat", lambda route: route.abort())
    page.reload(wait_until="domcontentloaded")
    assert notice.is_visible()
    assert page.evaluate("() => document.getElementById('main').inert")
    # Nothing under the notice takes a click: where Capture is, the notice is.
    assert page.evaluate(
        """() => { const box = document.getElementById('capture-button').getBoundingClientRect();
                   const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
                   return document.getElementById('screen-maintenance').contains(hit); }"""
    )
    page.unroute("**/screens/beat")
    after = last_beat_pk(screen)
    first = wait_for_beat(screen, lambda data: data["load"] != before, after=after, message="the reloaded page's first beat")
    assert first["maintenance"] is True
    command, _given = give(screen, "maintenance_off")
    wait_for_ack(command)
    notice.wait_for(state="hidden")
    assert not page.evaluate("() => document.getElementById('main').inert")
    assert page.locator("#capture-button").is_visible()
    wait_for_beat(screen, lambda data: data["maintenance"] is False, after=after, message="a beat saying the notice is gone")
    # The screen's events say "on" once and "off" once: no false "off" at the reload.
    texts = [event.text for event in reversed(selectors.history(screen)["events"])]
    maintenance_events = [text for text in texts if text.startswith("maintenance")]
    assert maintenance_events == ["maintenance screen on", "maintenance screen off"], texts


def test_the_maintenance_notice_speaks_the_screens_language(live_server, page):
    screen = enrol(page, live_server.url)
    page.goto(live_server.url + "/ja/kiosk/")
    kiosk_ready(page)
    give(screen, "maintenance_on")
    notice = page.locator("#screen-maintenance")
    notice.wait_for(state="visible", timeout=BEAT_SECONDS * 1000 + 10_000)
    assert "taking a short break" not in notice.inner_text()
    assert "休憩" in notice.inner_text()


def test_a_camera_that_stops_is_reported_and_recovered(live_server, page):
    seed_garden()
    screen = enrol(page, live_server.url)
    kiosk_ready(page)
    wait_for_beat(screen, lambda data: data["camera"] == "ok", message="camera ok")
    before = last_beat_pk(screen)
    page.evaluate("() => document.getElementById('camera').srcObject.getVideoTracks()[0].stop()")
    page.wait_for_function("() => document.getElementById('camera-status').textContent.includes('camera stopped')")
    assert page.is_disabled("#capture-button")
    wait_for_beat(screen, lambda data: data["camera"] == "ended", after=before, message="the stop reported")
    # The watchdog asks for the camera again; capture works as before.
    kiosk_ready(page)
    assert page.is_hidden("#camera-status")
    wait_for_beat(screen, lambda data: data["camera"] == "ok", after=before, timeout=20, message="the camera back")
    choose_favorite(page)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")


# A camera whose frames can be stopped while its track stays live (Chromium's fake device cannot):
# each getUserMedia gets a canvas stream fed ten frames a second until the test clears the feed.
FREEZABLE_CAMERA = """(() => {
  window.__feeds = 0;
  navigator.mediaDevices.getUserMedia = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 48;
    const context = canvas.getContext("2d");
    const stream = canvas.captureStream(0);
    const track = stream.getVideoTracks()[0];
    let n = 0;
    window.__feed = setInterval(() => {
      context.fillStyle = n++ % 2 ? "#777" : "#999"; context.fillRect(0, 0, 64, 48); track.requestFrame();
    }, 100);
    window.__feeds++;
    return Promise.resolve(stream);
  };
})()"""


def test_frozen_frames_are_reported_and_recovered(live_server, page):
    page.add_init_script(FREEZABLE_CAMERA)
    screen = enrol(page, live_server.url)
    kiosk_ready(page)
    wait_for_beat(screen, lambda data: data["camera"] == "ok", message="camera ok")
    before = last_beat_pk(screen)
    page.evaluate("() => clearInterval(window.__feed)")  # the camera stops delivering; its track stays live
    wait_for_beat(screen, lambda data: data["camera"] == "frozen", after=before, timeout=20, message="frozen reported")
    assert page.is_disabled("#capture-button")
    kiosk_ready(page)
    assert page.evaluate("() => window.__feeds") == 2  # asked for the camera again
    wait_for_beat(screen, lambda data: data["camera"] == "ok", after=before, timeout=20, message="the camera back")


def test_a_paused_preview_plays_again(live_server, page):
    open_kiosk(page, live_server)
    page.evaluate("() => document.getElementById('camera').pause()")
    page.wait_for_function("() => !document.getElementById('camera').paused", timeout=5000)


def test_a_new_server_version_reloads_the_page_when_idle_never_in_front_of_a_visitor(live_server, page, monkeypatch):
    seed_garden()
    screen = enrol(page, live_server.url)
    page.goto(live_server.url + "/kiosk/?idle=3")
    kiosk_ready(page)
    choose_favorite(page)
    capture(page)  # a visitor is in front of it
    page.evaluate(MARKER)
    for module in ("screens.services", "screens.beacon"):  # a deploy: the server sends a new page version
        monkeypatch.setattr(f"{module}.page_version", lambda: "9.9.9+deployed")
    wait_for_beat(screen, lambda data: data["reload"] == "version", after=last_beat_pk(screen), message="the page saw the new version")
    # While the visitor uses it, it stays; they keep touching it for a while.
    for _ in range(4):
        page.mouse.move(300, 300)
        page.mouse.move(320, 320)
        page.wait_for_timeout(500)
        assert same_document(page)
    # Left alone: the idle reset starts over, then the page reloads at this idle moment.
    wait_until(lambda: not same_document(page), timeout=30, message="the reload at the idle moment")
    kiosk_ready(page)
    assert page.get_attribute("#screen-beacon", "data-version") == "9.9.9+deployed"


def test_a_loop_of_errors_reloads_the_page_when_idle_and_is_reported(live_server, page):
    screen = enrol(page, live_server.url)
    page.goto(live_server.url + "/kiosk/?idle=2")
    kiosk_ready(page)
    page.evaluate(MARKER)
    page.evaluate("() => { for (let i = 0; i < 10; i++) setTimeout(() => { throw new Error('boom ' + i); }, 0); }")
    data = wait_for_beat(screen, lambda data: data["errorCount"] >= 10, message="the errors reported")
    assert len(data["errors"]) == 5 and data["errors"][-1]["message"].endswith("boom 9")
    wait_until(lambda: not same_document(page), timeout=20, message="the reload")
    kiosk_ready(page)


def test_a_heap_past_its_bound_reloads_once_at_the_idle_moment(live_server, page, settings):
    if not page.evaluate("() => !!performance.memory"):
        pytest.skip("this Chromium does not tell the heap")
    settings.SCREENS_HEAP_LIMIT_MB = 1  # every page is past it
    screen = enrol(page, live_server.url)
    page.goto(live_server.url + "/kiosk/?idle=2")
    kiosk_ready(page)
    page.evaluate(MARKER)
    wait_for_beat(screen, lambda data: data["reload"] == "heap", message="heap reported")
    wait_until(lambda: not same_document(page), timeout=20, message="the reload")
    kiosk_ready(page)
    # Still past the bound after the reload: it does not reload again and again.
    page.evaluate(MARKER)
    page.wait_for_timeout(6000)
    assert same_document(page)


def test_an_unenrolled_page_works_as_before_and_is_listed(live_server, page):
    seed_garden()
    open_kiosk(page, live_server)
    choose_favorite(page)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    with page.expect_request("**/screens/beat", timeout=(BEAT_SECONDS + 10) * 1000) as sent:
        pass
    anonymous = json.loads(page.evaluate("() => localStorage.getItem('garden.screen.anonymous.v1')"))
    listed = wait_until(lambda: Screen.objects.filter(anonymous_id=anonymous).first(), timeout=BEAT_SECONDS + 10, message="listed")
    assert status.assess(listed, timezone.now()).status == "unenrolled"
    assert listed.last_beat["camera"] == "ok" and listed.last_beat["visitors"] == 1
    headers = sent.value.headers
    assert "x-screen-anonymous" in headers and "x-screen" not in headers and "x-screen-signature" not in headers


def test_an_enrolled_signage_screen_beats_and_obeys(live_server, page):
    screen = enrol(page, live_server.url, name="Lobby wall", kind="signage", zone="lobby")
    data = wait_for_beat(screen)
    assert data["kind"] == "signage" and data["camera"] == "none" and data["outbox"] is None
    command, _given = give(screen, "language", "ja")
    wait_for_ack(command)
    page.wait_for_url("**/display/lobby/?lang=ja")
    assert page.get_attribute("html", "lang") == "ja"
    give(screen, "maintenance_on")
    page.locator("#screen-maintenance").wait_for(state="visible", timeout=BEAT_SECONDS * 1000 + 10_000)


def test_the_enrolment_page_says_when_a_link_is_spent(live_server, page):
    screen = Screen.objects.create(name="Hall kiosk")
    page.goto(f"{live_server.url}/screens/enrol/{screen.pk}.{'A' * 43}")
    page.locator("[data-step='failed']").wait_for(state="visible")
    assert "not valid" in page.inner_text("#screen-enrol")
    assert_accessible(page, where="the enrolment page")
    assert page.evaluate("() => localStorage.getItem('garden.screen.v1')") is None


def test_the_fleet_pages_refresh_themselves(live_server, page, django_user_model):
    """Issue 63: the fleet page, a screen's page and the status page showed the state of the moment
    they were opened until reloaded. They fetch themselves every few seconds (a fake clock runs the
    turns here) and put in the new state, without a reload and without touching an operator's edits."""
    django_user_model.objects.create_superuser("root", password="pw-root-123")
    screen, secret = enrolled_screen("Hall kiosk")
    kiosk = Client()
    post_beat(kiosk, screen, secret, beat_body(version=page_version(), camera="ok"))
    page.clock.install()
    page.goto(live_server.url + "/admin/login/?next=/admin/screens/screen/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root-123")
    page.click("input[type=submit]")
    row = page.locator(f"#result_list tr:has(input.action-select[value='{screen.pk}'])")
    assert row.locator(".screen-status").get_attribute("data-status") == "ok"
    page.evaluate(MARKER)

    def next_turn(seconds: float, selector: str) -> None:
        page.clock.fast_forward(int(seconds * 1000))
        page.wait_for_selector(selector, timeout=10_000)
        assert same_document(page)  # in place, not a reload

    # The fleet page: the row and the counts follow the camera going wrong; a row chosen for an action stays chosen.
    post_beat(kiosk, screen, secret, beat_body(version=page_version(), camera="frozen"))
    next_turn(6, f"#result_list tr:has(input.action-select[value='{screen.pk}']) .screen-status[data-status='warning']")
    assert page.inner_text("#fleet-summary [data-count='warning']") == "1"
    assert_accessible(page, where="the fleet page after a refresh")

    # A screen's page: its state refreshes, the form an operator is editing does not.
    page.goto(live_server.url + f"/admin/screens/screen/{screen.pk}/change/")
    page.evaluate(MARKER)
    page.fill("#id_location", "hall, by the door")
    post_beat(kiosk, screen, secret, beat_body(version=page_version(), camera="ok"))
    next_turn(6, "#screen-overview .screen-status[data-status='ok']")
    assert page.input_value("#id_location") == "hall, by the door"

    # The system status page: the screens' row.
    page.goto(live_server.url + "/curation/status/")
    page.evaluate(MARKER)
    assert page.get_attribute("#status-screens td[data-status='warning']", "data-count") == "0"
    post_beat(kiosk, screen, secret, beat_body(version=page_version(), camera="ended"))
    next_turn(11, "#status-screens td[data-status='warning'][data-count='1']")
