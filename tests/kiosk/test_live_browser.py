"""The live picture on the garden kiosk, in real Chromium against the real live API (docs/kiosk.md).

The page posts the camera frame to the real /emotion, asks the real POST /live, polls the real
status URL and likes through the real /like; the job is painted by the procedural painter through
the runner a worker calls (tests/kiosk/live_support.py), and the tests read the rows back.
"""

from __future__ import annotations

import re

import pytest

from garden.models import Image
from generation.models import GenerationJob
from recommend.models import Interaction
from tests.a11y import assert_accessible
from tests.accessibility.test_keyboard_flow import focused, tab_to
from tests.browser import assert_ai_labelled
from tests.kiosk.live_support import live_jobs, live_painter, paint_live_job  # noqa: F401 (fixture)
from tests.kiosk.test_garden_browser import PER_ORIENTATION, capture, keys_on_screen, open_kiosk, seed_garden, wait_until

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TILE = "#live-tile"
PICTURE = "#live-tile img#live-picture"
THREE_IMAGES = "() => document.querySelectorAll('#garden img').length === 3"


def capture_and_ask(page) -> tuple[dict, dict]:
    """Capture; return the /emotion answer and the POST /live answer (202) that followed it."""
    with page.expect_response(lambda r: r.url.endswith("/live") and r.request.method == "POST") as asked:
        result, _ = capture(page)
    response = asked.value
    assert response.status == 202, response.text()
    return result, response.json()


def like_rows(key: str):
    return Interaction.objects.filter(event_type=Interaction.Event.CLICK, item_key=key)


@pytest.mark.usefixtures("live_painter")
def test_the_live_tile_paints_fills_in_and_its_like_is_stored(live_server, page):
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    assert page.get_attribute("#kiosk", "data-live-url") == "/live"
    result, accepted = capture_and_ask(page)
    job = live_jobs().get()
    assert accepted["job"] == str(job.pk) and accepted["statusUrl"].endswith(f"/live/{job.pk}")
    assert job.live_request.visitor_id == result["id"] and job.queue == "live" and job.live
    assert job.emotion == result["emotions"].lower()  # the garden's search key ("Any" favorite)

    # While it paints: its own tile before the curated three, a progress bar, said once politely.
    page.wait_for_function(THREE_IMAGES)
    page.wait_for_selector(f"{TILE} progress")
    expect(page.get_by_role("progressbar")).to_have_accessible_name(re.compile("^Painting a picture for you"))
    assert page.evaluate("document.getElementById('live-tile').compareDocumentPosition(document.getElementById('garden')) & 4")
    assert page.get_attribute("#live-announce", "aria-live") == "polite"
    assert page.inner_text("#live-announce").startswith("Painting a picture for you")
    curated = keys_on_screen(page)

    # Painted: the picture, labelled AI-generated, in the pool marked live, checked before it shows.
    paint_live_job(job)
    page.wait_for_selector(PICTURE)
    image = job.images.get()
    assert (image.live, image.status, image.safety_verdict) == (True, Image.Status.POOL, Image.Safety.PASSED)
    assert page.get_attribute(PICTURE, "src").endswith(image.key)
    assert page.locator(f"{TILE} progress").count() == 0
    assert_ai_labelled(page.locator(PICTURE), page.locator(f"{TILE} .ai-label"), min_px=16)
    name = re.compile(r"^AI-generated: garden painting for a \w+ mood, painted just for you")
    expect(page.locator(PICTURE)).to_have_accessible_name(name)
    page.wait_for_function("() => document.getElementById('live-announce').textContent.startsWith('A picture painted for you is ready')")

    # Liked by keyboard alone: stored against the live picture, with the four keys on screen.
    like = tab_to(page, lambda f: "like-button" in f["cls"])
    assert page.evaluate("document.activeElement.closest('#live-tile') !== null"), like
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(r"^Like\b"))
    page.keyboard.press("Space")
    page.wait_for_selector(f'{TILE} .like-button[aria-pressed="true"]')
    row = wait_until(lambda: like_rows(image.key).first(), message="the live picture's like")
    assert row.image_id == image.pk and str(row.visitor_id) == result["id"]
    assert row.impression == [image.key, *curated]
    assert focused(page)["pressed"] == "true"
    page.wait_for_selector(f"{TILE} .share-qr img")  # the share page takes a passed live picture home
    share = page.get_attribute(f"{TILE} .share-qr img", "src")
    assert page.request.get(live_server.url + share).ok

    # A liked live picture stays: liking a curated one then asks for no other (the QR code may be in use).
    page.locator("#garden .like-button").first.click()
    wait_until(lambda: like_rows(curated[0]).exists(), message="the curated like")
    page.wait_for_timeout(500)
    assert live_jobs().count() == 1
    assert page.locator(PICTURE).get_attribute("src").endswith(image.key)


@pytest.mark.usefixtures("live_painter")
def test_the_first_curated_like_asks_for_one_picture_painted_from_it(live_server, page):
    """In Korean (issue 63): the painted picture says so on screen in the visitor's language, the
    position counts it, and the picture stays on screen while the second one paints."""
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/ko/kiosk/")
    result, _ = capture_and_ask(page)
    page.wait_for_function(THREE_IMAGES)
    first_job = live_jobs().get()
    paint_live_job(first_job)
    page.wait_for_selector(PICTURE)
    first = first_job.images.get()
    curated = keys_on_screen(page)
    assert_ai_labelled(
        page.locator(PICTURE), page.locator(f"{TILE} .live-badge"), name="AI 생성 그림", words=("당신을 위해 그린 그림",), min_px=16
    )
    # Four pictures on screen, and the position says so (it said "4장 중 1–3" alone).
    expect(page.locator("#garden-position")).to_have_text(f"{PER_ORIENTATION}장 중 1–3, 그리고 당신을 위해 그린 그림 한 장")
    assert_accessible(page, where="the Korean kiosk with its painted picture")

    # The first like of a curated picture: one more live picture, from that key.
    with page.expect_response(lambda r: r.url.endswith("/live") and r.request.method == "POST") as asked:
        page.locator(f'#garden .like-button[data-key="{curated[1]}"]').click()
    assert asked.value.status == 202 and asked.value.request.post_data_json["from"] == curated[1]
    second_job = live_jobs().last()
    assert second_job.pk != first_job.pk and second_job.live_request.from_key == curated[1]
    # It paints under the picture on screen, which stays (it used to give way to a progress bar).
    page.wait_for_selector(f"{TILE} .live-next progress")
    expect(page.get_by_role("progressbar")).to_have_accessible_name("좋아요한 그림으로 새 그림을 그리는 중입니다…")
    assert page.locator(PICTURE).is_visible() and page.get_attribute(PICTURE, "src").endswith(first.key)
    paint_live_job(second_job)
    second = second_job.images.get()
    page.wait_for_function(f"() => (document.querySelector('{PICTURE}') || {{}}).src?.endsWith('{second.key}')")
    assert page.locator(f"{TILE} progress").count() == 0
    expect(page.locator(f"{TILE} .live-badge")).to_have_text("당신을 위해 그린 그림")

    # Once per visitor: another curated like asks for nothing more. The new live picture is liked as usual.
    page.locator(f'#garden .like-button[data-key="{curated[2]}"]').click()
    page.locator(f"{TILE} .like-button").click()
    row = wait_until(lambda: like_rows(second.key).first(), message="the second live picture's like")
    assert row.image_id == second.pk and str(row.visitor_id) == result["id"]
    assert live_jobs().count() == 2


@pytest.mark.parametrize(("why", "status"), [("off", None), ("no_live_model", 503), ("image_check_off", 409)])
@pytest.mark.usefixtures("live_painter")
def test_without_live_pictures_the_garden_shows_alone_without_an_error(live_server, page, settings, why, status):
    seed_garden(favorite="")
    asked = []
    page.on("request", lambda r: asked.append(r) if r.url.endswith("/live") else None)
    if why == "off":
        settings.GARDEN_LIVE_ENABLED = False
    elif why == "no_live_model":
        settings.GARDEN_GENERATOR_BACKEND = "diffusers"  # and no library model is marked live
    else:
        settings.GARDEN_SAFETY_IMAGE_CHECK = False  # every live picture would be withheld: none is painted
    open_kiosk(page, live_server)
    if why == "off":
        assert page.get_attribute("#kiosk", "data-live-url") is None
        capture(page)
    else:
        with page.expect_response(lambda r: r.url.endswith("/live")) as answer:
            capture(page)
        assert answer.value.status == status and answer.value.json()["reason"] == why
    page.wait_for_function(THREE_IMAGES)
    page.wait_for_selector('#garden-state[data-state="ok"]')
    page.wait_for_timeout(500)
    assert page.locator(TILE).is_hidden() and page.locator(f"{TILE} *").count() == 0
    assert page.get_attribute("#garden-pictures", "data-live") is None
    assert page.inner_text("#live-announce") == ""
    assert page.locator('[data-state="error"], .field-error:not([hidden])').count() == 0
    assert len(asked) == (0 if why == "off" else 1)
    assert not GenerationJob.objects.exists()


@pytest.mark.usefixtures("live_painter")
def test_a_withheld_picture_shows_no_tile(live_server, page, settings):
    # The image check flags every picture (any score reaches a threshold of 0): the status answer
    # withholds it, and the tile goes quietly.
    settings.GARDEN_SAFETY_THRESHOLD = 0.0
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    capture_and_ask(page)
    page.wait_for_selector(f"{TILE} progress")
    job = paint_live_job(live_jobs().get())
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert job.images.get().safety_verdict == Image.Safety.FLAGGED
    page.wait_for_selector(TILE, state="hidden")
    assert page.inner_text("#live-announce") == ""
    assert page.locator('[data-state="error"]').count() == 0


@pytest.mark.usefixtures("live_painter")
def test_the_idle_reset_and_new_visitor_cancel_the_live_job(live_server, page):
    seed_garden(favorite="")
    open_kiosk(page, live_server, "/kiosk/?idle=2")
    capture_and_ask(page)
    page.wait_for_selector(f"{TILE} progress")
    job = live_jobs().get()
    assert job.status == GenerationJob.Status.QUEUED

    # Idle: the countdown, then the start state; the job is cancelled (DELETE) and the tile gone.
    page.wait_for_selector("#idle-countdown:not([hidden])", timeout=6000)
    page.wait_for_selector('#capture-state[data-state="idle"]', timeout=6000)
    assert page.locator(TILE).is_hidden()
    wait_until(lambda: GenerationJob.objects.get(pk=job.pk).status == GenerationJob.Status.CANCELLED, message="the job cancelled")

    # New visitor does the same.
    capture_and_ask(page)
    page.wait_for_selector(f"{TILE} progress")
    second = live_jobs().last()
    assert second.pk != job.pk
    page.click("#new-visitor")
    page.wait_for_selector(TILE, state="hidden")
    wait_until(lambda: GenerationJob.objects.get(pk=second.pk).status == GenerationJob.Status.CANCELLED, message="the second job cancelled")


def switch_language(page, code: str) -> None:
    with page.expect_navigation():
        page.click(f'.language-switch button[value="{code}"]')
    page.wait_for_function(f"() => document.documentElement.lang === '{code}'")


@pytest.mark.usefixtures("live_painter")
def test_the_live_picture_survives_a_language_switch_mid_visit(live_server, page):
    """Switched while it paints: the job is neither cancelled nor asked again, and the reloaded page
    shows it when it is painted; switched again once shown: the picture and its like stay (issue 96)."""
    seed_garden(favorite="")
    open_kiosk(page, live_server)
    capture_and_ask(page)
    page.wait_for_selector(f"{TILE} progress")
    job = live_jobs().get()

    switch_language(page, "ko")
    page.wait_for_selector(f"{TILE} progress")  # painting still, said in Korean
    expect(page.get_by_role("progressbar")).to_have_accessible_name(re.compile("^당신을 위한 그림을 그리는 중"))
    page.wait_for_timeout(300)
    assert live_jobs().count() == 1 and GenerationJob.objects.get(pk=job.pk).status == GenerationJob.Status.QUEUED

    paint_live_job(job)
    page.wait_for_selector(PICTURE)
    image = job.images.get()
    assert page.get_attribute(PICTURE, "src").endswith(image.key)
    page.locator(f"{TILE} .like-button").click()
    page.wait_for_selector(f'{TILE} .like-button[aria-pressed="true"]')
    wait_until(lambda: like_rows(image.key).exists(), message="the live picture's like")

    switch_language(page, "ja")
    page.wait_for_selector(PICTURE)
    assert page.get_attribute(PICTURE, "src").endswith(image.key)
    expect(page.locator(PICTURE)).to_have_accessible_name(re.compile("あなたのために描いた"))
    assert page.get_attribute(f"{TILE} .like-button", "aria-pressed") == "true"  # still theirs, still liked
    assert live_jobs().count() == 1 and like_rows(image.key).count() == 1
