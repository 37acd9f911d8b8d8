"""GET /image?content=<key> (the share page) and GET /image/qr (its QR code): serving images only,
nothing reflected, Open Graph tags, the apparent-expression notice, the QR holding the share URL."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest

from garden import keys
from garden.models import Image
from garden.pages import qr_svg
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "emotions/calm/img_20230320-121242_1h.jpeg\"><script>alert('x')</script>",
    "javascript:alert(document.cookie)",
    "'><svg/onload=alert(1)>",
    "emotions/calm/<b>img</b>_20230320-121242_1h.jpeg",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "x" * 5000,
]


def og(page: str, name: str) -> str:
    match = re.search(rf'<meta property="{re.escape(name)}" content="([^"]*)">', page)
    assert match, f"no {name}"
    return html.unescape(match.group(1))


def test_the_share_page_shows_a_serving_image(client):
    image = ImageFactory(emotion="calm", favorite="spring,sunny,day")
    response = client.get("/image", {"content": image.key})
    assert response.status_code == 200
    page = response.content.decode()
    url = f"http://testserver/media/{image.key}"
    assert f'<img src="{url}"' in page
    assert f'href="{url}" download="{image.key.rsplit("/", 1)[1]}"' in page
    assert og(page, "og:image") == url
    assert og(page, "og:url") == f"http://testserver/image?content={quote(image.key, safe='/,')}"
    assert og(page, "og:title").startswith("My Emotion Gardens")
    assert og(page, "og:image:width") == str(image.width)
    assert "<em>apparent</em> facial expression (calm)" in page  # the notice
    assert "Spring, Sunny, Day" in page  # the favorite in words
    assert "<script" not in page  # nothing to run on a phone
    # In Japanese, the language's own list punctuation (issue 63: "春, 晴れ, 昼").
    japanese = client.get("/image", {"content": image.key}, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "春、晴れ、昼" in japanese and "春, " not in japanese


def test_the_share_base_url_setting_names_the_public_site(client, settings):
    settings.GARDEN_SHARE_BASE_URL = "https://garden.example.org/"
    image = ImageFactory()
    page = client.get("/image", {"content": image.key}).content.decode()
    assert og(page, "og:url") == f"https://garden.example.org/image?content={image.key}"


@pytest.mark.parametrize("status", [Image.Status.POOL, Image.Status.REJECTED])
def test_pool_and_rejected_images_are_not_shared(client, status):
    image = ImageFactory(status=status)
    assert client.get("/image", {"content": image.key}).status_code == 404
    assert client.get("/image/qr", {"content": image.key}).status_code == 404


@pytest.mark.parametrize("content", [None, "", "emotions/calm/img_20230320-121242_1h.jpeg", "../../etc/passwd", *XSS])
def test_anything_else_is_a_404_page_that_repeats_nothing(client, content):
    params = {} if content is None else {"content": content}
    response = client.get("/image", params)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Image not found" in page
    if content:
        for fragment in (content, html.escape(content), "alert", "onerror", "onload", "<b>"):
            assert fragment not in page
    assert client.get("/image/qr", params).status_code == 404


def test_a_key_with_html_characters_is_escaped_everywhere(client):
    # The layout allows an apostrophe in a favorite: it must never break out of an attribute.
    image = ImageFactory(favorite="rock'n roll")
    assert "'" in image.key
    page = client.get("/image", {"content": image.key}).content.decode()
    assert image.key not in page
    assert html.escape(image.key) in page or quote(image.key, safe="/,") in page
    for attribute in re.findall(r'="([^"]*)"', page):
        assert "'" not in attribute


def test_the_qr_code_is_an_svg_of_the_share_url(client, settings):
    settings.GARDEN_SHARE_BASE_URL = "https://garden.example.org"
    image = ImageFactory(emotion="happy", favorite="winter,snowy,the-middle-of-the-night", orientation=keys.PORTRAIT)
    response = client.get("/image/qr", {"content": image.key})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age" in response["Cache-Control"]
    expected_url = f"https://garden.example.org/image?content={image.key}"
    # The SVG is exactly segno's code for that URL (decoded from pixels in the browser test).
    assert response.content == qr_svg(expected_url)
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<script" not in svg


def test_the_qr_follows_the_request_host_without_a_share_base(client):
    image = ImageFactory()
    response = client.get("/image/qr", {"content": image.key}, HTTP_HOST="127.0.0.1")
    assert response.content == qr_svg(f"http://127.0.0.1/image?content={quote(image.key, safe='/,')}")
    assert "Host" in response["Vary"]


def test_the_garden_page_knows_where_qr_codes_come_from(client):
    assert 'data-qr-url="/image/qr"' in client.get("/kiosk/").content.decode()


def ai_badge(page: str) -> str:
    match = re.search(r'<span class="ai-label" aria-hidden="true">((?:[^<]|<span[^>]*>[^<]*</span>)*)</span>', page)
    assert match, "no AI-generated label"
    return re.sub(r"<[^>]+>", "", html.unescape(match.group(1)))


def image_alt(page: str) -> str:
    return html.unescape(re.search(r'<img src="[^"]*" width="\d+" height="\d+"\s+alt="([^"]*)"', page).group(1))


def test_the_share_page_labels_the_picture_as_ai_generated(client):
    image = ImageFactory(emotion="calm")
    page = client.get("/image", {"content": image.key}).content.decode()
    assert ai_badge(page) == "AI-generated"
    assert image_alt(page).startswith("AI-generated: garden painting for a calm mood")
    assert og(page, "og:image:alt").startswith("AI-generated: ")


def test_the_label_follows_the_page_language_and_the_second_language(client, settings):
    image = ImageFactory(emotion="calm")
    page = client.get("/image", {"content": image.key}, headers={"accept-language": "ja"}).content.decode()
    assert ai_badge(page) == "AI生成"
    assert image_alt(page).startswith("AI生成: 「安らぎ」の表情に合わせた庭の絵")
    settings.GARDEN_SECOND_LANGUAGE = "ko"  # today's look: Korean under English
    page = client.get("/image", {"content": image.key}).content.decode()
    assert ai_badge(page) == "AI-generated · AI 생성 그림"
    assert image_alt(page).startswith("AI-generated · AI 생성 그림: garden painting for a calm mood")


@pytest.mark.parametrize("blank", ["", "   ", "\u3000\n", None])
def test_a_blank_label_setting_falls_back_to_the_default_on_the_share_page(client, settings, blank):
    settings.GARDEN_AI_LABEL = {"en": blank, "ko": blank, "ja": blank}
    settings.GARDEN_SECOND_LANGUAGE = "ko"
    image = ImageFactory(emotion="calm")
    page = client.get("/image", {"content": image.key}).content.decode()
    assert ai_badge(page) == "AI-generated · AI 생성 그림"
    assert 'alt="AI-generated · AI 생성 그림: ' in html.unescape(page)


def test_a_reworded_label_is_shown_as_configured(client, settings):
    settings.GARDEN_AI_LABEL = {"en": "  Made with  AI ", "ko": "AI 그림", "ja": ""}
    settings.GARDEN_SECOND_LANGUAGE = "ko"
    image = ImageFactory(emotion="calm")
    page = client.get("/image", {"content": image.key}).content.decode()
    assert ai_badge(page) == "Made with AI · AI 그림"


def test_the_system_check_warns_about_a_blank_label(settings):
    from garden.labels import blank_ai_label

    assert blank_ai_label() == []  # the defaults
    settings.GARDEN_AI_LABEL = {"en": " ", "ko": "AI 생성 그림", "ja": "AI生成", "fr": "Généré par IA"}
    messages = blank_ai_label()
    assert [m.id for m in messages] == ["garden.W101", "garden.W102"]
    assert "GARDEN_AI_LABEL['en'] is blank" in messages[0].msg and "'AI-generated'" in messages[0].msg
    settings.GARDEN_AI_LABEL = ""
    assert [m.id for m in blank_ai_label()] == ["garden.W101"]


# The notice's own words per language: a live picture was painted for the visitor, a garden
# picture was picked for them.
NOTICE_WORDS = {"en": ("painted for you", "picked"), "ko": ("당신을 위해 그렸을", "골랐을"), "ja": ("あなたのために描いた", "選んだ")}


def notice(page: str) -> str:
    return re.search(r'<p class="notice" role="note">(.*?)</p>', page, re.S).group(1)


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_a_live_picture_was_painted_for_the_visitor_a_garden_one_picked(client, lang):
    painted_words, picked_words = NOTICE_WORDS[lang]
    live = ImageFactory(status=Image.Status.POOL, live=True, safety_verdict=Image.Safety.PASSED, emotion="calm")
    curated = ImageFactory(emotion="calm")
    painted = client.get("/image", {"content": live.key}, headers={"accept-language": lang}).content.decode()
    picked = client.get("/image", {"content": curated.key}, headers={"accept-language": lang}).content.decode()
    assert painted_words in notice(painted) and picked_words not in notice(painted)
    assert picked_words in notice(picked) and painted_words not in notice(picked)
    if lang == "en":
        assert og(painted, "og:description").startswith("A garden picture painted at the Emotion Garden kiosk")
        assert og(picked, "og:description").startswith("A garden painting picked at the Emotion Garden kiosk")
        assert image_alt(painted) == "AI-generated: garden painting for a calm mood, painted for you at the kiosk"
        assert image_alt(picked) == "AI-generated: garden painting for a calm mood"


def test_the_labelled_box_has_the_pictures_own_shape(client):
    """kiosk.css sizes the AI label's box from these, so the label sits on the picture itself."""
    square = ImageFactory(status=Image.Status.POOL, live=True, safety_verdict=Image.Safety.PASSED, width=512, height=512)
    page = client.get("/image", {"content": square.key}).content.decode()
    assert '<div class="ai-labelled" style="--w: 512; --h: 512">' in page
