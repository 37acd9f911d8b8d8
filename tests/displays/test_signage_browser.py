"""The signage page /display/<zone>/ in real Chromium: it rotates, follows the screen's orientation,
picks up a zone change without a reload, and keeps going with the last images while the server is
unreachable. Each test image is one solid colour, so the screenshot's centre pixel says which
image is on screen."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image as PILImage

from displays import services
from garden import keys
from garden.services import read_file
from tests.browser import assert_ai_labelled
from tests.displays.test_update_display import make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANDSCAPE_SCREEN = {"viewport": {"width": 960, "height": 540}, "reduced_motion": "reduce"}
PORTRAIT_SCREEN = {"viewport": {"width": 540, "height": 960}, "reduced_motion": "reduce"}


@pytest.fixture
def browser_context_args():
    return dict(LANDSCAPE_SCREEN)


@pytest.fixture
def screen(page):
    """The page; sent to about:blank afterwards so no poll reaches the server while the database is flushed."""
    yield page
    if not page.is_closed():
        page.goto("about:blank")


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("operator", is_staff=True)


def colour_of(image) -> tuple[int, int, int]:
    with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
        return picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))


def centre_colour(page) -> tuple[int, int, int]:
    with PILImage.open(io.BytesIO(page.screenshot())) as shot:
        return shot.convert("RGB").getpixel((shot.width // 2, shot.height // 2))


def which(page, images) -> int | None:
    """The index of the image whose colour fills the screen's centre (None: none of them)."""
    seen = centre_colour(page)
    for index, image in enumerate(images):
        if all(abs(a - b) <= 12 for a, b in zip(seen, colour_of(image), strict=True)):
            return index
    return None


def shown_over(page, images, seconds: float) -> list[int | None]:
    seen = []
    for _ in range(int(seconds * 4)):
        seen.append(which(page, images))
        page.wait_for_timeout(250)
    return seen


def test_the_slideshow_rotates_and_picks_up_a_zone_change(live_server, screen, operator):
    page = screen
    first = [make_image() for _ in range(3)]
    services.update_zone(zone="zone1", selection=services.Selection(landscape=[i.key for i in first]), user=operator)
    page.goto(live_server.url + "/display/zone1/?rotate=0.5&poll=0.5")
    page.wait_for_function("() => document.getElementById('signage').dataset.version === '1'")

    # Full screen, no cursor, no text but the AI-generated label.
    assert page.evaluate("getComputedStyle(document.body).cursor") == "none"
    box = page.locator(".slide.shown").bounding_box()
    assert (box["width"], box["height"]) == (960, 540)
    assert page.is_hidden(".signage-empty")
    # In the zone's language (here the installation's, English).
    assert_ai_labelled(
        page.locator(".slide.shown"), page.locator("#signage .ai-label"), name="AI-generated", words=("AI-generated",), min_px=19
    )

    seen = shown_over(page, first, 3)
    assert set(seen) == {0, 1, 2}, seen  # every image comes round
    assert sum(a != b for a, b in itertools.pairwise(seen)) >= 3  # and it keeps moving

    # A change made elsewhere (here: the service /updateDisplay calls) shows without a reload.
    second = [make_image(), make_image()]
    services.update_zone(zone="zone1", selection=services.Selection(landscape=[i.key for i in second]), user=operator)
    page.wait_for_function("() => document.getElementById('signage').dataset.version === '2'", timeout=10_000)
    page.wait_for_timeout(300)
    seen = shown_over(page, [*first, *second], 2.5)
    assert set(seen) == {3, 4}, seen  # only the new set


def test_a_portrait_screen_shows_the_portrait_images(live_server, browser, operator, request):
    landscape = make_image()
    portrait = [make_image(keys.PORTRAIT), make_image(keys.PORTRAIT)]
    selection = services.Selection(landscape=[landscape.key], portrait=[i.key for i in portrait])
    services.update_zone(zone="hall", selection=selection, user=operator)
    context = browser.new_context(**PORTRAIT_SCREEN)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/display/hall?rotate=0.5&poll=5")
        page.wait_for_function("() => document.getElementById('signage').dataset.slide")
        seen = shown_over(page, [landscape, *portrait], 2.5)
        assert set(seen) == {1, 2}, seen
        assert page.get_attribute(".slide.shown", "data-url").startswith("/display/hall/img")
        assert "v.jpeg" in page.get_attribute(".slide.shown", "data-url")
    finally:
        page.goto("about:blank")
        context.close()


def test_the_last_images_stay_on_screen_while_the_server_is_unreachable(live_server, screen, operator):
    page = screen
    images = [make_image(), make_image()]
    services.update_zone(zone="zone1", selection=services.Selection(landscape=[i.key for i in images]), user=operator)
    page.goto(live_server.url + "/display/zone1/?rotate=0.5&poll=0.5")
    page.wait_for_function("() => document.getElementById('signage').dataset.version === '1'")

    # The server goes away: every request to it fails.
    page.route(f"{live_server.url}/**", lambda route: route.abort("connectionrefused"))
    page.wait_for_function("() => document.getElementById('signage').dataset.online === 'false'")
    newer = make_image()
    services.update_zone(zone="zone1", selection=services.Selection(landscape=[newer.key]), user=operator)
    seen = shown_over(page, [*images, newer], 2.5)
    assert set(seen) == {0, 1}, seen  # still rotating through the images it had

    # Back online: the change it missed arrives.
    page.unroute(f"{live_server.url}/**")
    page.wait_for_function("() => document.getElementById('signage').dataset.version === '2'", timeout=10_000)
    page.wait_for_function("() => document.getElementById('signage').dataset.online === 'true'")
    page.wait_for_timeout(600)
    assert which(page, [*images, newer]) == 2


def test_an_unknown_zone_says_there_is_no_such_zone_and_fills_in_once_created(live_server, screen, operator):
    page = screen
    page.goto(live_server.url + "/display/lobby/?rotate=0.5&poll=0.5")
    page.wait_for_selector(".signage-unknown:not([hidden])")
    assert "There is no display zone “lobby”" in page.inner_text("#signage")
    assert page.locator(".signage-empty:not(.signage-unknown)").is_hidden()
    image = make_image()
    services.update_zone(zone="lobby", selection=services.Selection(landscape=[image.key]), user=operator)
    page.wait_for_selector(".signage-unknown", state="hidden", timeout=10_000)
    page.wait_for_function("() => document.getElementById('signage').dataset.slide", timeout=10_000)
    page.wait_for_timeout(300)
    assert which(page, [image]) == 0


def test_an_existing_zone_without_images_says_it_has_none_yet(live_server, screen):
    from displays.models import DisplayZone

    DisplayZone.objects.create(name="hall")
    page = screen
    page.goto(live_server.url + "/display/hall/?rotate=0.5&poll=0.5")
    page.wait_for_selector(".signage-empty:not(.signage-unknown):not([hidden])")
    assert "has no images yet" in page.inner_text("#signage")
    assert page.locator("#signage .ai-label").is_hidden()  # no picture, no label
    assert page.locator(".signage-unknown").is_hidden()


def test_the_page_shows_the_zones_language_and_follows_a_change_unless_pinned(live_server, browser, screen, operator):
    page = screen
    image = make_image()
    services.update_zone(zone="hall", selection=services.Selection(landscape=[image.key]), user=operator, language="ja")
    page.goto(live_server.url + "/display/hall/?rotate=0.5&poll=0.5")
    page.wait_for_function("() => document.getElementById('signage').dataset.slide")
    assert page.get_attribute("html", "lang") == "ja"
    assert page.title() == "hall · 感情の庭 ディスプレイ"
    assert_ai_labelled(page.locator(".slide.shown"), page.locator("#signage .ai-label"), name="AI生成", words=("AI生成",), min_px=19)

    # A second screen pinned to English by its address.
    pinned = browser.new_page(**LANDSCAPE_SCREEN)
    try:
        pinned.goto(live_server.url + "/display/hall/?lang=en&rotate=0.5&poll=0.5")
        pinned.wait_for_function("() => document.getElementById('signage').dataset.slide")
        assert pinned.inner_text("#signage .ai-label") == "AI-generated"

        # The operator switches the zone to Korean: the unpinned screen reloads in it at its next poll.
        services.update_zone(zone="hall", selection=services.Selection(landscape=[image.key]), user=operator, language="ko")
        page.wait_for_function("() => document.documentElement.lang === 'ko'", timeout=10_000)
        page.wait_for_function("() => document.getElementById('signage').dataset.slide")
        assert page.inner_text("#signage .ai-label") == "AI 생성 그림"
        assert page.get_attribute(".slide.shown", "alt") == "AI 생성 그림"
        pinned.wait_for_timeout(1500)  # three polls
        assert pinned.evaluate("() => document.documentElement.lang") == "en"
    finally:
        pinned.goto("about:blank")
        pinned.close()


def test_an_unknown_zone_says_so_in_the_installations_language(live_server, screen, settings):
    settings.LANGUAGE_CODE = "ko"
    page = screen
    page.goto(live_server.url + "/display/lobby/?rotate=0.5&poll=0.5")
    page.wait_for_selector(".signage-unknown:not([hidden])")
    assert page.get_attribute("html", "lang") == "ko"
    assert "디스플레이 구역이 없습니다: “lobby”." in page.inner_text("#signage")
