"""The text-to-image pages and the job API's messages in the request's language (issue 40):
Accept-Language (or the visitor's choice) picks it; the answers' fields and codes stay as they were."""

from __future__ import annotations

import pytest

from generation.models import GenerationJob
from generation.requests import TEXT_LIMITS

pytestmark = pytest.mark.django_db

WORDS = {
    "ko": {"heading": "글로 그림 만들기", "generate": "생성", "state": "대기 중", "label": "AI 생성 그림"},
    "ja": {"heading": "テキストから画像", "generate": "生成", "state": "待機中", "label": "AI生成"},
}


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("curator", password="pw-curator-1", is_staff=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_the_text2image_page_renders_in_the_requested_language(staff, language):
    words = WORDS[language]
    response = staff.get("/kiosk/text2image/", HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response["Content-Language"] == language
    assert f'<div class="t2i-layout" data-jobs-url="/api/v1/jobs" lang="{language}" data-ai-label="{words["label"]}">' in html
    assert f'<h2 id="t2i-heading">{words["heading"]}</h2>' in html
    assert f'<button type="submit" id="t2i-submit" class="primary">{words["generate"]}</button>' in html
    assert f'<script src="/static/jsi18n/{language}/djangojs.js"></script>' in html  # the script's words
    assert "Generate" not in html and "No job yet" not in html


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_an_old_link_renders_its_job_page_in_the_requested_language(staff, no_enqueue, language):
    words = WORDS[language]
    response = staff.get("/text2image?prompt=a+garden+of+blue+roses", HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Language"] == language
    assert f'lang="{language}" data-ai-label="{words["label"]}"' in html
    assert f'<span class="state-text">{words["state"]}</span>' in html
    assert f'<script src="/static/jsi18n/{language}/djangojs.js"></script>' in html
    assert "<q>a garden of blue roses</q>" in html  # the prompt as written


def test_an_old_links_size_error_comes_in_the_requested_language(staff, no_enqueue):
    response = staff.get("/text2image?prompt=roses&width=770", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 400
    assert "width は " in response.content.decode()
    assert "8 の倍数にしてください（このサイトで許される最大値）。指定された値：770。" in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_the_job_apis_messages_follow_accept_language_with_the_same_fields(staff, no_enqueue):
    too_long = "x" * (TEXT_LIMITS["prompt"] + 1)
    english = staff.post("/api/v1/jobs", {"prompt": too_long}, content_type="application/json")
    korean = staff.post("/api/v1/jobs", {"prompt": too_long}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ko")
    assert english.status_code == korean.status_code == 400
    assert english.json().keys() == korean.json().keys()  # the wire format: the same fields
    # The serializer's own check (DRF's words, from DRF's catalogs).
    assert "no more than" in english.json()["prompt"][0]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean.json()["prompt"][0]), korean.json()
    sizes = staff.post("/api/v1/jobs", {"prompt": "roses", "width": 770}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ja")
    assert "8 の倍数" in str(sizes.json()["width"])


def test_an_api_client_that_sends_no_language_gets_english(client, django_user_model, no_enqueue):
    user = django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    client.force_login(user)  # not staff
    response = client.post("/api/v1/jobs", {"prompt": "roses"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Generation needs a staff session or an API token."}
    japanese = client.post("/api/v1/jobs", {"prompt": "roses"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="ja")
    assert japanese.json() == {"detail": "生成にはスタッフとしてのログインか API トークンが必要です。"}
