"""axe-core (WCAG 2.0/2.1 A and AA) on every visitor page, in every language the site ships.

Each page is opened by a browser whose Accept-Language is that language, with real data behind it:
the kiosk films a face through the fake camera and runs the real /emotion and /garden.
"""

from __future__ import annotations

import gettext

import pytest
from django.conf import settings

from displays import services as display_services
from garden.models import Image
from tests.a11y import assert_accessible
from tests.accessibility.conftest import log_in
from tests.displays.test_update_display import make_image
from tests.kiosk.live_support import live_jobs, live_painter, paint_live_job  # noqa: F401 (fixture)
from tests.kiosk.test_garden_browser import capture, open_kiosk, seed_garden
from tests.retouch.retouch_support import garden_image

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_kiosk_before_and_after_a_capture(live_server, page, language):
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    assert_accessible(page, where=f"the kiosk before a capture ({language})")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.locator("#garden .like-button").first.click()  # a liked picture shows its QR code
    page.wait_for_selector("#garden .like-button[aria-pressed='true']:not([disabled])")
    page.wait_for_selector("#garden .share-qr img")
    assert_accessible(page, where=f"the kiosk after a capture and a like ({language})")


@pytest.mark.usefixtures("live_painter")
def test_kiosk_live_picture_painting_and_painted(live_server, page, language):
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.wait_for_selector("#live-tile progress")
    # The tile speaks the visitor's language: the words the kiosk script's compiled catalog gives.
    words = script_words(language)
    assert page.inner_text("#live-caption") == words("Painting a picture for you…")
    assert_accessible(page, where=f"the kiosk with the live picture painting ({language})")
    paint_live_job(live_jobs().get())
    page.wait_for_selector("#live-tile img")
    expect(page.locator("#live-announce")).to_have_text(words("A picture painted for you is ready."))
    page.locator("#live-tile .like-button").click()  # liked: its QR code shows too
    page.wait_for_selector("#live-tile .share-qr img")
    assert_accessible(page, where=f"the kiosk with the live picture painted and liked ({language})")


def script_words(language: str):
    """gettext of the kiosk scripts' catalog (garden/locale/<language>/djangojs.mo). English is the
    messages themselves; a Korean or Japanese catalog that lacks a message fails the test."""
    if language == "en":
        return lambda message: message
    catalog = gettext.translation("djangojs", localedir=settings.BASE_DIR / "garden" / "locale", languages=[language])

    def words(message: str) -> str:
        translated = catalog.gettext(message)
        assert translated != message, f"{message!r} has no {language} translation"
        return translated

    return words


def test_kiosk_idle_countdown(live_server, page, language):
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/kiosk/?idle=3")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.wait_for_selector("#idle-countdown:not([hidden])", timeout=8000)
    assert_accessible(page, where=f"the kiosk's idle countdown ({language})")


def test_emotion_check_page(live_server, page, language):
    open_kiosk(page, live_server, "/kiosk/emotion/")
    assert_accessible(page, where=f"the emotion check before a capture ({language})")
    capture(page)
    page.wait_for_selector("#emotion-result:not([hidden])")
    assert_accessible(page, where=f"the emotion check after a capture ({language})")


def test_share_page(live_server, page, language):
    seed_garden(favorite="", per_orientation=1)
    key = Image.objects.filter(status=Image.Status.SERVING).values_list("key", flat=True).first()
    page.goto(f"{live_server.url}/image?content={key}")
    page.wait_for_selector("img")
    assert_accessible(page, where=f"the share page ({language})")
    page.goto(f"{live_server.url}/image?content=emotions/nothing/here.jpeg")
    assert_accessible(page, where=f"the share page's not-found answer ({language})")


def test_signage_page(live_server, page, language, django_user_model):
    operator = django_user_model.objects.create_user("operator", is_staff=True)
    images = [make_image() for _ in range(2)]
    display_services.update_zone(zone="zone1", selection=display_services.Selection(landscape=[i.key for i in images]), user=operator)
    page.goto(live_server.url + "/display/zone1/?rotate=5&poll=30")
    page.wait_for_selector(".slide.shown")
    assert_accessible(page, where=f"the signage page ({language})")


def test_text_to_image_page(live_server, page, language, staff_user):
    log_in(page, live_server, staff_user)
    page.goto(live_server.url + "/kiosk/text2image/")
    page.wait_for_selector("form")
    assert_accessible(page, where=f"text to image ({language})")


def test_retouch_page(live_server, page, language, staff_user):
    source = garden_image()
    log_in(page, live_server, staff_user)
    page.goto(f"{live_server.url}/kiosk/retouch/?image={source.pk}")
    page.wait_for_selector("form")
    # The page has drawn what the status API said (the pool line, the features on offer).
    page.wait_for_function("() => document.getElementById('rt-pool').textContent.trim() !== ''")
    assert_accessible(page, where=f"retouch ({language})")
