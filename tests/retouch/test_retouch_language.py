"""The retouch page in the request's language (issue 40): Korean and Japanese words, the page's
lang, the AI label in that language; the values the script sends stay the API's codes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

WORDS = {
    "ko": {
        "heading": "부분 수정",
        "submit": "수정하기",
        "fill": "채우기",
        "label": "AI 생성 그림",
        "before": "AI 생성 그림: 수정 전, 원본 그림",
    },
    "ja": {"heading": "部分修正", "submit": "修正する", "fill": "塗りつぶし", "label": "AI生成", "before": "AI生成：修正前、元の画像"},
}


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_the_retouch_page_renders_in_the_requested_language(client, django_user_model, language):
    client.force_login(django_user_model.objects.create_user("retoucher", is_staff=True))
    words = WORDS[language]
    response = client.get("/kiosk/retouch/", HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Language"] == language
    assert f'<div class="rt-layout" lang="{language}">' in html
    assert f'<h2 id="rt-source-heading">{words["heading"]}</h2>' in html
    assert f'<button type="submit" id="rt-submit" class="primary" disabled>{words["submit"]}</button>' in html
    assert f'<option value="fill">{words["fill"]}</option>' in html  # a translated label, the same code
    assert f'alt="{words["before"]}"' in html
    assert f'<span class="ai-label" aria-hidden="true">{words["label"]}</span>' in html
    assert f'<script src="/static/jsi18n/{language}/djangojs.js"></script>' in html
    for english in ("Rectangle and mask", "Denoising strength", "Keep in pool", "No job yet."):
        assert english not in html


def test_a_visitors_chosen_language_wins_over_accept_language(client, django_user_model, settings):
    client.force_login(django_user_model.objects.create_user("retoucher", is_staff=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"  # what the language switch (set_language) leaves
    html = client.get("/kiosk/retouch/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<div class="rt-layout" lang="ja">' in html
