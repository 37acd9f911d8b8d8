"""The text-to-image pages' scripts in real Chromium, in the language the browser asks for (issue 40):
their words from the compiled JavaScript catalog, the API asked in the same language."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from generation.models import GenerationJob
from generation.worker import runner
from tests.browser import assert_ai_labelled, open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr("generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: sent.append(str(job_id)))
    return sent


@pytest.fixture
def staff_session(django_user_model):
    user = django_user_model.objects.create_user("curator", password="pw-curator-123", is_staff=True)
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_text2image_in_korean(request, browser, live_server, staff_session, enqueued, settings):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    with open_page(request, browser, {"viewport": {"width": 1280, "height": 800}, "locale": "ko-KR"}) as page:
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": staff_session, "url": live_server.url}])
        page.goto(live_server.url + "/kiosk/text2image/")
        assert page.get_attribute(".t2i-layout", "lang") == "ko"
        assert page.inner_text("#t2i-heading") == "글로 그림 만들기"

        # A word of the script: the empty prompt.
        page.fill("#t2i-prompt", "  ")
        page.click("#t2i-submit")
        page.wait_for_selector("#t2i-error:not([hidden])")
        assert page.inner_text("#t2i-error") == "먼저 프롬프트를 입력해 주세요."

        page.fill("#t2i-prompt", "a quiet garden of blue flowers at dawn")
        with page.expect_request(lambda r: r.url.endswith("/api/v1/jobs") and r.method == "POST") as sent:
            page.click("#t2i-submit")
        assert sent.value.headers["accept-language"] == "ko"  # the page's language, not the browser's list
        page.wait_for_function("() => document.getElementById('t2i-state').textContent.includes('대기 중')")

        job = GenerationJob.objects.get()
        runner.execute_job(job_id=job.pk, worker="browser-test")
        page.wait_for_selector('#t2i-state[data-state="done"]')
        assert page.inner_text("#t2i-state") == "완료: 그림 1장."
        img = page.locator("#t2i-results img").first
        assert_ai_labelled(img, page.locator("#t2i-results li .ai-label").first, name="AI 생성 그림", words=("AI 생성 그림",))
        assert img.get_attribute("alt") == "AI 생성 그림: 프롬프트로 만든 그림 1: a quiet garden of blue flowers at dawn"
        page.goto("about:blank")


def test_an_old_link_in_japanese(request, browser, live_server, staff_session, enqueued, settings):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    with open_page(request, browser, {"viewport": {"width": 1280, "height": 800}, "locale": "ja-JP"}) as page:
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": staff_session, "url": live_server.url}])
        page.goto(live_server.url + "/text2image?prompt=a+quiet+garden+of+red+tulips&width=1024&height=600")
        assert page.get_attribute(".t2i-job", "lang") == "ja"
        # The script takes over the server's word (待機中) and adds the place in the queue.
        page.wait_for_function("() => document.getElementById('job-state').textContent.includes('番目')")
        assert page.inner_text("#job-state") == "待機中 — 1 番目"
        job = GenerationJob.objects.get()
        runner.execute_job(job_id=job.pk, worker="browser-test")  # the worker, while the page polls
        page.wait_for_selector('#job-state[data-state="done"]')
        assert page.inner_text("#job-state") == "完了"  # the script's word
        img = page.locator("#job-results img").first
        assert_ai_labelled(img, page.locator("#job-results li .ai-label").first, name="AI生成", words=("AI生成",))
        assert img.get_attribute("alt").startswith("AI生成：プロンプトから生成した画像 1：")
        page.goto("about:blank")
