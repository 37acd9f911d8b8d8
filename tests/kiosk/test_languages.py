"""The kiosk pages' language (docs/languages.md): Django's order (URL prefix, the visitor's choice,
Accept-Language, GARDEN_LANGUAGE), the switch, the pinned URLs, the second language, and the
kiosk APIs answering in the page's language while old clients keep theirs."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def lang_of(page: str) -> str:
    return re.search(r'<html lang="([^"]*)"', page).group(1)


@pytest.mark.parametrize(
    ("accept", "lang", "words"),
    [
        ("", "en", ["Your favorite", "Capture", "This kiosk estimates your <em>apparent</em> facial expression"]),
        ("ko-KR,ko;q=0.9,en;q=0.5", "ko", ["좋아하는 풍경", "표정 분석", "<em>겉으로 보이는</em> 표정"]),
        ("ja,en;q=0.5", "ja", ["好きな風景", "表情を分析", "<em>見た目の</em>表情"]),
    ],
)
def test_accept_language_picks_the_page_language(client, accept, lang, words):
    headers = {"accept-language": accept} if accept else {}
    response = client.get("/kiosk/", headers=headers)
    page = response.content.decode()
    assert response.status_code == 200 and lang_of(page) == lang and response["Content-Language"] == lang
    for word in words:
        assert word in page
    assert f"/static/jsi18n/{lang}/djangojs.js" in page  # the compiled catalog: works offline
    assert "·" not in re.sub(r"<script.*?</script>", "", page, flags=re.S)  # no hand-written pairs left


def test_garden_language_is_the_default_for_a_browser_that_asks_for_none_of_ours(client, settings):
    settings.LANGUAGE_CODE = "ko"  # GARDEN_LANGUAGE=ko
    assert lang_of(client.get("/kiosk/", headers={"accept-language": "fr"}).content.decode()) == "ko"
    assert lang_of(client.get("/kiosk/").content.decode()) == "ko"


def test_every_page_has_a_switch_with_native_names_posting_to_set_language(client):
    image = ImageFactory()
    for url in ("/kiosk/", "/kiosk/emotion/", f"/image?content={image.key}", "/image?content=nothing"):
        page = client.get(url, headers={"accept-language": "ja"}).content.decode()
        form = re.search(r'<form class="language-switch"(.*?)</form>', page, re.S)
        assert form, url
        body = form.group(0)
        assert f'action="{reverse("set_language")}" method="post"' in body
        assert 'role="group" aria-labelledby="language-switch-label"' in body and "csrfmiddlewaretoken" in body
        assert '<span id="language-switch-label" class="visually-hidden">言語</span>' in body
        button = r'<button type="submit" name="language" value="(\w+)" lang="(\w+)"[^>]*?( aria-current="true")?>([^<]+)</button>'
        names = re.findall(button, body)
        expected = [("en", "en", "English"), ("ko", "ko", "한국어"), ("ja", "ja", "日本語")]
        assert [(value, lang, name) for value, lang, _current, name in names] == expected
        assert [value for value, _lang, current, _name in names if current] == ["ja"]


def test_the_switch_sets_the_visitors_choice_and_comes_back_to_the_same_page(client):
    page = client.get("/kiosk/?idle=30").content.decode()
    next_url = re.search(r'name="next" value="([^"]*)"', page).group(1)
    assert next_url == "/kiosk/?idle=30"
    response = client.post(reverse("set_language"), {"language": "ko", "next": next_url})
    assert response.status_code == 302 and response["Location"] == "/kiosk/?idle=30"
    # The cookie beats Accept-Language from now on.
    page = client.get("/kiosk/?idle=30", headers={"accept-language": "ja"}).content.decode()
    assert lang_of(page) == "ko" and "좋아하는 풍경" in page
    assert 'data-home-url="/kiosk/?idle=30"' in page and 'data-language-cookie="django_language"' in page


def test_a_prefix_pins_a_kiosk_and_the_switch_keeps_its_home(client):
    page = client.get("/ko/kiosk/", headers={"accept-language": "ja"}).content.decode()
    assert lang_of(page) == "ko"  # the URL beats Accept-Language ...
    client.cookies["django_language"] = "ja"
    assert lang_of(client.get("/ko/kiosk/").content.decode()) == "ko"  # ... and the cookie
    assert 'data-home-url="/ko/kiosk/"' in page
    # The switch goes to the unprefixed page, where the visitor's choice counts; the pin goes along.
    next_url = re.search(r'name="next" value="([^"]*)"', page).group(1)
    assert next_url == "/kiosk/?home=ko"
    response = client.post(reverse("set_language"), {"language": "en", "next": next_url})
    assert response["Location"] == "/kiosk/?home=ko"
    page = client.get(response["Location"]).content.decode()
    assert lang_of(page) == "en"
    assert 'data-home-url="/ko/kiosk/"' in page  # the idle reset goes back to Korean
    assert re.search(r'name="next" value="([^"]*)"', page).group(1) == "/kiosk/?home=ko"
    assert lang_of(client.get("/ja/kiosk/emotion/").content.decode()) == "ja"


def test_old_page_urls_and_api_paths_stay_where_they_are(client):
    for url in ("/", "/kiosk", "/kiosk/", "/kiosk/emotion", "/kiosk/emotion/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/ko/emotion").status_code == 404  # the APIs have no prefixed copies
    response = client.post("/garden", data=json.dumps({"emotion": "happy"}), content_type="application/json")
    assert response.status_code == 200 and set(response.json()) == {"landscape", "portrait"}


@pytest.mark.parametrize(
    ("accept", "message"),
    [
        (None, "Unknown emotion 'bored': expected one of"),  # an old client: GARDEN_LANGUAGE
        ("ko", "알 수 없는 감정 'bored'입니다"),
        ("ja", "不明な感情 'bored' です"),
    ],
)
def test_api_errors_come_back_in_the_language_the_page_sends(client, accept, message):
    headers = {"accept-language": accept} if accept else {}
    response = client.post("/garden", data='{"emotion": "bored"}', content_type="application/json", headers=headers)
    assert response.status_code == 400  # the wire format is the same in every language
    assert message in response.content.decode()
    assert set(response.json()) == {"detail"} or "emotion" in response.json()


def test_an_old_client_with_no_language_gets_garden_language(client, settings):
    settings.LANGUAGE_CODE = "ja"
    response = client.post("/garden", data='{"emotion": "bored"}', content_type="application/json")
    assert response.status_code == 400 and "不明な感情" in response.content.decode()
    response = client.post("/emotion", data=b"", content_type="image/png")
    assert response.status_code == 400 and "写真" in response.content.decode()


def test_the_share_page_follows_the_language_it_is_opened_in(client):
    image = ImageFactory(emotion="sad", favorite="winter,snowy,the-middle-of-the-night")
    page = client.get("/image", {"content": image.key}, headers={"accept-language": "ko"}).content.decode()
    assert lang_of(page) == "ko"
    assert "‘슬픔’ 표정에 어울리는 정원" in page and "겨울, 눈, 한밤중" in page and "내려받기" in page
    assert '<meta property="og:locale" content="ko">' in page
    page = client.get("/image", {"content": image.key}, headers={"accept-language": "ja"}).content.decode()
    assert lang_of(page) == "ja" and "「悲しみ」の表情に合わせた庭" in page and "冬、雪、真夜中" in page
    missing = client.get("/image", {"content": "nope"}, headers={"accept-language": "ja"})
    assert missing.status_code == 404 and "絵が見つかりません" in missing.content.decode()


@override_settings(GARDEN_SECOND_LANGUAGE="ko")
def test_a_second_language_shows_under_the_first_like_before(client):
    page = client.get("/kiosk/").content.decode()
    assert lang_of(page) == "en"
    assert 'Your favorite <span class="second-language" lang="ko">좋아하는 풍경</span>' in page
    assert '<option value="spring">Spring · 봄</option>' in page
    catalog = json.loads(re.search(r'<script id="second-language-catalog" type="application/json">(.*?)</script>', page).group(1))
    assert catalog["language"] == "ko" and catalog["catalog"]["Your garden is ready."] == "정원이 준비되었습니다."
    # A visitor who picks the second language sees it once, not twice.
    page = client.get("/kiosk/", headers={"accept-language": "ko"}).content.decode()
    assert "second-language" not in page and "second-language-catalog" not in page


def test_no_second_language_by_default(client):
    page = client.get("/kiosk/").content.decode()
    assert "second-language" not in page and "봄" not in page


def test_the_system_check_warns_about_an_unknown_second_language(settings):
    from garden.languages import unknown_second_language

    assert unknown_second_language() == []  # empty: one language
    settings.GARDEN_SECOND_LANGUAGE = "ko"
    assert unknown_second_language() == []
    settings.GARDEN_SECOND_LANGUAGE = "fr"
    (message,) = unknown_second_language()
    assert message.id == "garden.W103" and "'fr'" in message.msg
