"""Details a visitor sees, measured in real Chromium: the QR caption inside its white box in every
language, the AI-generated label on the share page's picture whatever its shape, the garden saying
so when its pictures are not of the chosen favorite (and each alt text naming its own picture's),
and a first page that asks for nothing the server lacks (``/favicon.ico``).
"""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from garden import keys
from garden.models import Image
from garden.pages import FAVORITE_NAMES
from garden.services import create_image
from tests.browser import assert_ai_labelled
from tests.factories import ImageFactory, jpeg_bytes
from tests.kiosk.conftest import KIOSK, PHONE, PORTRAIT_KIOSK
from tests.kiosk.test_garden_browser import capture, choose_favorite, keys_on_screen, like_button, open_kiosk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = [PHONE, KIOSK, PORTRAIT_KIOSK]
SCREEN_IDS = ["phone-390x844", "kiosk-1920x1080", "portrait-kiosk-1080x1920"]
CAPTION = {"en": "Scan to take it home", "ko": "휴대폰으로 스캔해 가져가세요", "ja": "スマートフォンで読み取って持ち帰れます"}

# The caption's text (a Range over it: the span's own box never grows past its block), the white
# box, the picture it sits on, and whether the caption's line overflows the span.
QR_BOXES = """(box) => {
  const span = box.querySelector("span"), range = document.createRange();
  range.selectNodeContents(span);
  const rect = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  return {text: rect(range.getBoundingClientRect()), box: rect(box.getBoundingClientRect()),
          picture: rect(box.closest("figure").querySelector(".ai-labelled").getBoundingClientRect()),
          overflow: span.scrollWidth - span.clientWidth, words: span.textContent};
}"""


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        outer["left"] - slack <= inner["left"]
        and inner["right"] <= outer["right"] + slack
        and outer["top"] - slack <= inner["top"]
        and inner["bottom"] <= outer["bottom"] + slack
    )


def seed(favorite: str, per_orientation: int) -> None:
    for emotion in keys.EMOTIONS:
        for orientation in (keys.LANDSCAPE, keys.PORTRAIT):
            for _ in range(per_orientation):
                ImageFactory(emotion=emotion, favorite=favorite, orientation=orientation)


@pytest.mark.parametrize("browser_context_args", SCREENS, ids=SCREEN_IDS)
@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_the_qr_caption_stays_inside_its_box(live_server, page, browser_context_args, lang):
    """Japanese has no spaces to wrap at: under Korean's keep-all it was one line running out of the
    box (285 px of text in a 148 px box on the 1080p kiosk)."""
    seed("", 3)
    open_kiosk(page, live_server, f"/{lang}/kiosk/")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    like_button(page, keys_on_screen(page)[0]).click()
    page.wait_for_selector("#garden .share-qr img")
    page.evaluate("document.fonts.ready")
    measured = page.eval_on_selector("#garden .share-qr", QR_BOXES)
    assert measured["words"] == CAPTION[lang]
    assert measured["overflow"] <= 0, measured
    assert inside(measured["text"], measured["box"]), measured
    assert inside(measured["box"], measured["picture"]), measured


def test_the_qr_caption_fits_with_a_second_language_too(live_server, page, settings):
    """A Japanese kiosk with Korean under it, on a phone: the longest caption in the narrowest box."""
    settings.GARDEN_SECOND_LANGUAGE = "ko"
    page.set_viewport_size(PHONE["viewport"])
    seed("", 3)
    open_kiosk(page, live_server, "/ja/kiosk/")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    like_button(page, keys_on_screen(page)[0]).click()
    page.wait_for_selector("#garden .share-qr img")
    measured = page.eval_on_selector("#garden .share-qr", QR_BOXES)
    assert measured["words"] == f"{CAPTION['ja']} · {CAPTION['ko']}"
    assert measured["overflow"] <= 0 and inside(measured["text"], measured["box"]), measured


# Where the picture is drawn inside its <img> box (object-fit: contain centres it).
DRAWN = """(img) => {
  const box = img.getBoundingClientRect();
  const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
  const left = box.left + (box.width - width) / 2, top = box.top + (box.height - height) / 2;
  return {left: left, right: left + width, top: top, bottom: top + height};
}"""
SHAPES = {"square-live": (512, 512), "landscape": (1280, 800), "portrait": (800, 1280)}


def shared_picture(shape: str) -> Image:
    width, height = SHAPES[shape]
    live = shape == "square-live"
    key = keys.build_key(
        prefix=keys.POOL_PREFIX if live else keys.SERVING_PREFIX,
        emotion="calm",
        favorite="",
        timestr=keys.new_timestr(timezone.now()),
        index=1,
        orientation=keys.PORTRAIT if shape == "portrait" else keys.LANDSCAPE,
    )
    extra = {"live": True, "safety_verdict": Image.Safety.PASSED} if live else {}
    status = Image.Status.POOL if live else Image.Status.SERVING
    return create_image(key=key, content=jpeg_bytes(width, height), status=status, width=width, height=height, **extra)


@pytest.mark.parametrize("browser_context_args", SCREENS, ids=SCREEN_IDS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_share_pages_label_sits_on_the_picture(live_server, page, browser_context_args, shape):
    """A square live picture on a wide screen was letterboxed inside a full-width <img>: the label,
    at the box's corner, hung half off the picture (and wholly off a portrait one)."""
    image = shared_picture(shape)
    page.goto(f"{live_server.url}/image?content={image.key}")
    picture = page.locator(".share-figure img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    view = browser_context_args["viewport"]
    assert_ai_labelled(picture, page.locator(".share-figure .ai-label"), min_px=11 if view["width"] < 600 else 14)
    drawn = picture.evaluate(DRAWN)
    label = page.locator(".share-figure .ai-label").bounding_box()
    label = {"left": label["x"], "right": label["x"] + label["width"], "top": label["y"], "bottom": label["y"] + label["height"]}
    assert inside(label, drawn), (label, drawn)
    # As large as before: the whole width, or 75 % of the screen's height.
    assert (
        drawn["bottom"] - drawn["top"]
        >= min(0.75 * view["height"], (drawn["right"] - drawn["left"]) * SHAPES[shape][1] / SHAPES[shape][0]) - 1
    )
    notice = page.inner_text(".share-panel .notice")
    assert ("painted for you" in notice) == (shape == "square-live") and ("picked" in notice) == (shape != "square-live"), notice


FALLBACK_NOTE = {
    "en": "No pictures for this favorite yet: here are gardens for your mood with other favorites.",
    "ko": "이 조합의 그림이 아직 없습니다. 같은 표정의 다른 풍경 정원을 보여 드립니다.",
    "ja": "この組み合わせの絵はまだありません。同じ表情のほかの風景の庭をお見せします。",
}
FEW_NOTE = "Only a few pictures for this favorite so far: gardens for your mood with other favorites follow them."


# A list as each language writes it (Intl.ListFormat, conjunction, narrow; issue 63: "秋, 雨, 夕暮れ").
LIST_FORMS = {"en": ", ".join, "ko": lambda words: ", ".join(words[:-1]) + " 및 " + words[-1], "ja": "、".join}


def scene_words(favorite: str, lang: str) -> str:
    with translation.override(lang):
        return LIST_FORMS[lang]([str(FAVORITE_NAMES[part]) for part in favorite.split(",")])


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_a_garden_of_other_favorites_says_so(live_server, page, lang):
    """No picture of the chosen favorite: /garden answers with the mood's other favorites (its
    fallback tier), so the page says so, and each alt text names its own picture's favorite."""
    seed("autumn,rainy,sunset", 3)
    open_kiosk(page, live_server, f"/{lang}/kiosk/")
    choose_favorite(page, "spring,sunny,day")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.wait_for_selector('#garden-state[data-state="fallback"]')
    state = page.locator("#garden-state")
    assert state.is_visible() and state.inner_text() == FALLBACK_NOTE[lang]
    theirs, chosen = scene_words("autumn,rainy,sunset", lang), scene_words("spring,sunny,day", lang)
    for alt in page.eval_on_selector_all("#garden img", "imgs => imgs.map(i => i.alt)"):
        assert theirs in alt and chosen not in alt, alt


def test_a_favorite_with_few_pictures_says_the_others_follow(live_server, page):
    """One picture per orientation of the favorite (fewer than RECOMMEND_MIN_RESULTS): it comes first,
    the mood's other favorites follow; the notice says so and every alt text names its own."""
    seed("spring,sunny,day", 1)
    seed("autumn,rainy,sunset", 3)
    open_kiosk(page, live_server)
    choose_favorite(page, "spring,sunny,day")
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    page.wait_for_selector('#garden-state[data-state="fallback"]')
    assert page.inner_text("#garden-state") == FEW_NOTE
    alts = page.eval_on_selector_all("#garden img", "imgs => imgs.map(i => i.alt)")
    assert "Spring, Sunny, Day (1 of 4)" in alts[0], alts
    assert all("Autumn, Rainy, Sunset" in alt and "Spring" not in alt for alt in alts[1:]), alts


def test_a_garden_of_the_favorite_alone_is_simply_ready(live_server, page):
    seed("spring,sunny,day", 3)
    open_kiosk(page, live_server)
    choose_favorite(page, "spring,sunny,day")
    capture(page)
    page.wait_for_selector('#garden-state[data-state="ok"]')
    assert page.inner_text("#garden-state") == "Your garden is ready."
    assert all("Spring, Sunny, Day" in alt for alt in page.eval_on_selector_all("#garden img", "imgs => imgs.map(i => i.alt)"))


@pytest.mark.parametrize("path", ["/kiosk/", "/ja/kiosk/", "/kiosk/emotion/"])
def test_a_first_page_asks_for_nothing_missing(live_server, page, path):
    """Every request of a fresh page is answered without a 4xx/5xx. Headless Chromium's own favicon
    request does not reach Playwright's events, so /favicon.ico is asked for as a browser would."""
    failed = []
    page.on("response", lambda response: failed.append((response.status, response.url)) if response.status >= 400 else None)
    open_kiosk(page, live_server, path)
    page.wait_for_load_state("networkidle")
    assert failed == []
    icon = page.request.get(live_server.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
