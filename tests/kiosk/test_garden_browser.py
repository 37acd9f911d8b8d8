"""The emotion garden kiosk in real headless Chromium, filmed by a fake camera showing a real face.

Nothing is stubbed: the page posts the camera frame to the real /emotion, loads the real /garden and
records likes, dislikes and impressions through the real endpoints; the tests read the rows back.
"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from garden import keys
from garden.models import Image
from garden.services import create_image
from garden.visitors import visitor_code
from recommend.models import Interaction
from tests.browser import assert_ai_labelled
from tests.factories import ImageFactory, jpeg_bytes
from tests.kiosk.conftest import KIOSK, PHONE, PORTRAIT_KIOSK

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAVORITE = "spring,sunny,day"
PER_ORIENTATION = 4  # three on the first screen, one on the second, then Next wraps around


def seed_garden(*, favorite: str = FAVORITE, per_orientation: int = PER_ORIENTATION) -> None:
    """Serving images for every emotion (the face model decides which one the astronaut gets)."""
    for emotion in keys.EMOTIONS:
        for orientation in (keys.LANDSCAPE, keys.PORTRAIT):
            for _ in range(per_orientation):
                ImageFactory(emotion=emotion, favorite=favorite, orientation=orientation)


def wait_until(predicate, *, timeout: float = 10.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OperationalError as exc:
            # SQLite's in-memory test database is shared between this thread and the live server's
            # in shared-cache mode, where a read that meets the server's write in progress fails at
            # once ("database table is locked") instead of waiting: that is "not yet", try again.
            if "locked" not in str(exc):
                raise
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def open_kiosk(page, live_server, path: str = "/kiosk/"):
    page.goto(live_server.url + path)
    # The fake camera is up once the capture button is enabled.
    page.wait_for_function("() => !document.getElementById('capture-button').disabled")


def choose_favorite(page, favorite: str = FAVORITE) -> None:
    season, weather, time_of_day = favorite.split(",")
    page.select_option("#favorite-season", season)
    page.select_option("#favorite-weather", weather)
    page.select_option("#favorite-time", time_of_day)


def capture(page) -> tuple[dict, dict]:
    """Press Capture; return the /emotion answer and the request headers the page sent."""
    with page.expect_response(lambda r: r.url.endswith("/emotion") and r.request.method == "POST") as info:
        page.click("#capture-button")
    response = info.value
    assert response.status == 200, f"/emotion answered {response.status}: {response.text()}"
    return response.json(), response.request.headers


def keys_on_screen(page) -> list[str]:
    """Keys cut from the <img> URLs the way kiosks do it (url.slice(url.lastIndexOf('emotions')))."""
    page.wait_for_selector("#garden img")
    urls = page.eval_on_selector_all("#garden img", "imgs => imgs.map(i => i.src)")
    return [url[url.rfind("emotions") :] for url in urls]


def like_button(page, key: str):
    return page.locator(f'#garden .like-button[data-key="{key}"]')


# The garden's pictures, the lowest like button's bottom, and the QR code on the liked picture.
PICTURE_BOXES = """(liked) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const buttons = [...document.querySelectorAll('#garden .like-button')].map((b) => b.getBoundingClientRect().bottom);
  const figure = document.querySelector(`#garden img[data-key="${liked}"]`).closest('figure');
  return {pictures: [...document.querySelectorAll('#garden img')].map(box), bottom: Math.max(...buttons),
          qr: box(figure.querySelector('.share-qr'))};
}"""


@pytest.mark.parametrize(
    "browser_context_args", [PHONE, KIOSK, PORTRAIT_KIOSK], ids=["phone-390x844", "kiosk-1920x1080", "portrait-kiosk-1080x1920"]
)
def test_capture_like_undo_next_flow(live_server, page, browser_context_args):
    seed_garden()
    viewport = browser_context_args["viewport"]
    portrait = viewport["height"] > viewport["width"]
    suffix = "v.jpeg" if portrait else "h.jpeg"
    open_kiosk(page, live_server)
    assert page.locator("#privacy-notice").is_visible()
    choose_favorite(page)

    # Capture → /emotion with raw PNG bytes → the apparent expression, age and features.
    result, sent_headers = capture(page)
    assert sent_headers["content-type"] == "image/png"
    assert "x-user-id" not in sent_headers  # a first visit: the server mints the id
    emotion = result["emotions"].lower()
    assert emotion in keys.EMOTIONS
    page.wait_for_selector("#emotion-result:not([hidden])")
    assert page.inner_text("#result-emotion") == result["emotions"].capitalize()  # its name, no code beside it (issue 63)
    assert f"{result['ageRange']['Low']} to {result['ageRange']['High']}" in page.inner_text("#result-age")
    assert page.get_attribute("#capture-state", "data-state") == "ok"
    # The code for a deletion request, under the notice (derived from the id, docs/privacy.md).
    page.wait_for_selector("#visitor-code:not([hidden])")
    assert visitor_code(result["id"]) in page.inner_text("#visitor-code")

    # The garden: three images of the screen's orientation, for that emotion and favorite.
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    first = keys_on_screen(page)
    assert len(set(first)) == 3
    assert all(key.startswith(f"emotions/{emotion}/") and key.endswith(suffix) for key in first), first
    assert Image.objects.filter(key__in=first, status=Image.Status.SERVING, favorite=FAVORITE).count() == 3
    assert page.get_attribute("#garden", "data-orientation") == ("portrait" if portrait else "landscape")
    for figure in page.locator("#garden figure").all():
        # The AI-generated label over each picture, readable, and in the picture's accessible name.
        assert_ai_labelled(figure.locator("img"), figure.locator(".ai-label"), min_px=11 if viewport["width"] < 600 else 16)
    assert "1–3 of 4" in page.inner_text("#garden-position")

    # Like the second image: one click row with exactly the keys on screen.
    liked = first[1]
    like_button(page, liked).click()
    page.wait_for_selector(f'#garden .like-button[data-key="{liked}"][aria-pressed="true"]:not([disabled])')
    # The button shows the like at once; the outbox delivers it (outbox.js).
    click = wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.CLICK).first(), message="like row")
    assert click.item_key == liked
    assert click.impression == first
    assert str(click.visitor_id) == result["id"]

    # The screen is used (issue 63): on the portrait kiosk the pictures were 248×397 px with the bottom
    # 40 % empty and a tiny QR code; on a phone the QR code covered the liked picture.
    boxes = page.evaluate(PICTURE_BOXES, liked)
    if browser_context_args is PORTRAIT_KIOSK:
        assert boxes["bottom"] >= 0.9 * viewport["height"], boxes
        assert boxes["pictures"][0]["width"] >= 600 and boxes["qr"]["width"] >= 128, boxes
    if browser_context_args is PHONE:
        picture = boxes["pictures"][1]
        assert picture["width"] >= 0.85 * viewport["width"], boxes
        assert boxes["qr"]["width"] * boxes["qr"]["height"] <= 0.25 * picture["width"] * picture["height"], boxes

    # Undo it: a dislike event for the same image and visitor.
    like_button(page, liked).click()
    page.wait_for_selector(f'#garden .like-button[data-key="{liked}"][aria-pressed="false"]:not([disabled])')
    dislike = wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.DISLIKE).first(), message="dislike row")
    assert dislike.item_key == liked
    assert str(dislike.visitor_id) == result["id"]
    assert Interaction.objects.filter(event_type=Interaction.Event.CLICK).count() == 1

    # Next: the last page ends on the fourth image, three pictures still (issue 63: "Images 4–4 of 4",
    # one picture alone); a like there reports exactly the keys on screen.
    page.click("#next-button")
    page.wait_for_function("() => document.getElementById('garden-position').textContent.includes('2–4 of 4')")
    second_page = keys_on_screen(page)
    fourth = second_page[2]
    assert second_page[:2] == first[1:] and fourth not in first and fourth.endswith(suffix)
    like_button(page, fourth).click()
    page.wait_for_selector(f'#garden .like-button[data-key="{fourth}"][aria-pressed="true"]')
    second_like = wait_until(
        lambda: Interaction.objects.filter(event_type=Interaction.Event.CLICK, item_key=fourth).first(), message="second like"
    )
    assert second_like.impression == second_page

    # Next wraps around to the first three.
    page.click("#next-button")
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    assert keys_on_screen(page) == first
    assert page.get_attribute(f'#garden .like-button[data-key="{liked}"]', "aria-pressed") == "false"

    # Leaving a screen without a like reports it as an impression (liked screens are not re-sent).
    page.click("#next-button")
    impression = wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.IMPRESSION).first(), message="impression row")
    assert impression.impression == first
    assert Interaction.objects.filter(event_type=Interaction.Event.IMPRESSION).count() == 1

    # The page fits the screen: no sideways scrolling anywhere, and a kiosk needs no scrolling at all.
    width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert width <= viewport["width"]
    if browser_context_args is not PHONE:
        assert height <= viewport["height"], f"page is {height}px tall"

    # A second capture keeps the visitor (X-user-id).
    page.wait_for_function("() => !document.getElementById('capture-button').disabled")
    again, sent_headers = capture(page)
    assert sent_headers.get("x-user-id") == result["id"]
    assert again["id"] == result["id"]


def test_keyboard_only_flow(live_server, page):
    """Tab to Capture, Enter; Tab to a like button, Space: the kiosk works without a pointer."""
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    page.focus("#capture-button")
    with page.expect_response(lambda r: r.url.endswith("/emotion")):
        page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.focus("#garden .like-button >> nth=0")
    page.keyboard.press("Space")
    page.wait_for_selector('#garden .like-button[aria-pressed="true"]')
    wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.CLICK).exists(), message="like row")
    page.focus("#next-button")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('garden-position').textContent.includes('2–4 of 4')")


# Records every state the capture status box goes through, with its text, from page load on.
STATE_LOG_SCRIPT = """
window.__captureStates = [];
document.addEventListener('DOMContentLoaded', () => {
  const box = document.getElementById('capture-state');
  const log = () => window.__captureStates.push([box.dataset.state, box.textContent.trim()]);
  log();
  new MutationObserver(log).observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
});
"""


def test_no_face_state_without_flash(live_server, empty_camera_page):
    page = empty_camera_page
    page.add_init_script(STATE_LOG_SCRIPT)
    seed_garden(favorite="", per_orientation=1)
    open_kiosk(page, live_server)
    with page.expect_response(lambda r: r.url.endswith("/emotion")) as info:
        page.click("#capture-button")
    assert info.value.status == 404
    assert info.value.text() == "No Face"
    page.wait_for_selector('#capture-state[data-state="noface"]')
    assert "No face found" in page.inner_text("#capture-state")
    assert page.locator("#emotion-result").is_hidden()
    assert page.locator("#garden img").count() == 0
    assert not page.is_disabled("#capture-button")  # the visitor can try again

    states = page.evaluate("window.__captureStates")
    seen = [state for state, _ in states]
    # idle → busy → noface, and "No face" never shown before the answer came back.
    assert seen[0] == "idle"
    assert "busy" in seen
    first_noface = seen.index("noface")
    assert first_noface > seen.index("busy")
    assert all("no face" not in text.lower() for _, text in states[:first_noface])
    assert all(state != "noface" for state in seen[: seen.index("busy")])


def test_no_images_state(live_server, page):
    open_kiosk(page, live_server)
    result, _ = capture(page)
    page.wait_for_selector('#garden-state[data-state="empty"]')
    assert "No images for this expression yet" in page.inner_text("#garden-state")
    assert page.locator("#garden").is_hidden()
    assert page.locator("#next-button").is_hidden()
    # The result is still shown: the empty garden is not an error.
    assert page.inner_text("#result-emotion") == result["emotions"].capitalize()  # its name, no code beside it (issue 63)

    # With a favorite nobody has painted yet the message says so.
    choose_favorite(page, "winter,snowy,the-early-dawn")
    page.wait_for_selector('#garden-state[data-state="empty"]')
    page.wait_for_function("() => document.getElementById('garden-state').textContent.includes('favorite')")

    # The demo garden's three pictures: all on screen, and no Next button at all (issue 63: a dead one).
    # One is a square promoted as landscape (its key says h): shown whole, not cropped to 8:5.
    emotion = result["emotions"].lower()
    for orientation in (keys.LANDSCAPE, keys.PORTRAIT):
        for _ in range(2 if orientation == keys.LANDSCAPE else 3):
            ImageFactory(emotion=emotion, favorite="", orientation=orientation)
    square_key = keys.build_key(
        prefix=keys.SERVING_PREFIX, emotion=emotion, favorite="", timestr="20260101-000000", index=7, orientation=keys.LANDSCAPE
    )
    create_image(key=square_key, content=jpeg_bytes(64, 64), status=Image.Status.SERVING, width=64, height=64, generator="procedural")
    choose_favorite(page, ",,")
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    assert page.inner_text("#garden-position") == "Images 1–3 of 3"
    assert page.locator("#next-button").is_hidden()
    square = page.locator(f'#garden img[data-key="{square_key}"]')
    page.wait_for_function("(img) => img.dataset.shape === 'square'", arg=square.element_handle())
    box = square.bounding_box()
    assert abs(box["width"] - box["height"]) <= 1, box
    assert_ai_labelled(square, square.locator("xpath=following-sibling::span[contains(@class, 'ai-label')]"), min_px=16)


def test_network_error_state(live_server, page):
    seed_garden(favorite="", per_orientation=1)
    open_kiosk(page, live_server)
    page.route("**/garden", lambda route: route.abort("internetdisconnected"))
    capture(page)
    page.wait_for_selector('#garden-state[data-state="error"]')
    assert "Network problem" in page.inner_text("#garden-state")
    # The capture result still stands and the visitor can try again.
    assert not page.is_disabled("#capture-button")


def test_half_chosen_favorite_is_refused_before_capture(live_server, page):
    open_kiosk(page, live_server)
    page.select_option("#favorite-season", "autumn")
    page.click("#capture-button")
    page.wait_for_selector("#favorite-error:not([hidden])")
    assert page.get_attribute("#capture-state", "data-state") == "idle"


def test_emotion_check_page(live_server, page):
    open_kiosk(page, live_server, "/kiosk/emotion/")
    assert page.locator("#privacy-notice").is_visible()
    result, _ = capture(page)
    page.wait_for_selector("#emotion-result:not([hidden])")
    assert page.inner_text("#result-emotion") == result["emotions"].capitalize()  # its name, no code beside it (issue 63)
    assert result["id"] in page.text_content("#raw-result")


# WCAG 2 contrast of every visible, enabled element that has its own text, against the first
# opaque background behind it. Returns the failures.
CONTRAST_SCRIPT = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
  };
  const failures = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility() || el.closest('[disabled]') || el.closest('.visually-hidden')) continue;
    const style = getComputedStyle(el);
    if (parseFloat(style.opacity) < 1) continue;
    const fg = lum(parse(style.color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    checked++;
    if (ratio < 4.5) failures.push([el.tagName + '#' + el.id + '.' + el.className, el.textContent.trim().slice(0, 40), ratio.toFixed(2)]);
  }
  return {checked, failures};
}
"""


def test_text_contrast_meets_wcag_aa(live_server, page):
    seed_garden(favorite="", per_orientation=4)
    open_kiosk(page, live_server)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.locator("#garden .like-button").first.click()
    page.wait_for_selector('#garden .like-button[aria-pressed="true"]:not([disabled])')
    page.select_option("#favorite-season", "winter")  # shows the half-chosen favorite error too
    page.wait_for_selector("#favorite-error:not([hidden])")
    report = page.evaluate(CONTRAST_SCRIPT)
    assert report["checked"] > 20
    assert report["failures"] == []


def test_turning_the_screen_switches_orientation(live_server, page):
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    assert all(key.endswith("h.jpeg") for key in keys_on_screen(page))
    page.set_viewport_size({"width": 1080, "height": 1920})  # matchMedia('(orientation: portrait)') changes
    page.wait_for_selector('#garden[data-orientation="portrait"]')
    portrait = keys_on_screen(page)
    assert len(portrait) == 3 and all(key.endswith("v.jpeg") for key in portrait)
    # The landscape screen was left without a like: it was reported as an impression.
    wait_until(lambda: Interaction.objects.filter(event_type=Interaction.Event.IMPRESSION).exists(), message="impression row")


def test_refused_camera_permission_is_explained(live_server, page):
    page.add_init_script("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));")
    page.goto(live_server.url + "/kiosk/")
    page.wait_for_selector("#camera-status:not([hidden])")
    page.wait_for_function("() => document.getElementById('camera-status').textContent.includes('permission')")
    assert page.is_visible("#camera-retry")
    assert page.is_disabled("#capture-button")
