"""The staff text-to-image page in real Chromium against the real job API (session + CSRF).

No broker: enqueueing is recorded, and the test runs the job itself with the procedural painter
through the same service a Celery worker calls, while the page polls the job API.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from generation.models import GenerationJob
from generation.worker import runner
from tests.browser import assert_ai_labelled
from tests.kiosk.test_garden_browser import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr("generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: sent.append(str(job_id)))
    return sent


@pytest.fixture
def staff_page(page, live_server, django_user_model):
    """The page, logged in as staff through a real session cookie."""
    user = django_user_model.objects.create_user("curator", password="pw-curator-123", is_staff=True)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.user = user
    return page


def test_text2image_page_submits_polls_and_shows_the_result(live_server, staff_page, enqueued, settings):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    page = staff_page
    page.goto(live_server.url + "/kiosk/text2image/")
    page.fill("#t2i-prompt", "a quiet garden of blue flowers at dawn")
    page.select_option("#t2i-resolution", "1024x600")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/jobs") and r.request.method == "POST") as info:
        page.click("#t2i-submit")
    assert info.value.status == 202, info.value.text()
    page.wait_for_function("() => document.getElementById('t2i-state').textContent.includes('Queued')")
    assert page.is_visible("#t2i-cancel")

    job = GenerationJob.objects.get()
    assert (job.width, job.height) == (1024, 600)
    assert job.prompt.startswith("a quiet garden of blue flowers at dawn")
    assert job.created_by == page.user
    assert enqueued == [str(job.pk)]

    # The "worker": the same service the Celery task calls.
    runner.execute_job(job_id=job.pk, worker="browser-test")
    page.wait_for_selector('#t2i-state[data-state="done"]')
    assert page.get_attribute("#t2i-progress", "value") == "100"
    page.wait_for_selector("#t2i-results img")
    img = page.locator("#t2i-results img").first
    english = {"name": "AI-generated", "words": ("AI-generated",)}  # the label in the page's language
    assert_ai_labelled(img, page.locator("#t2i-results li .ai-label").first, **english)
    assert "image 1 for the prompt" in img.get_attribute("alt")
    src = img.get_attribute("src")
    assert any(src.endswith(image.key) for image in job.images.all()), src
    assert page.is_hidden("#t2i-cancel")
    assert not page.is_disabled("#t2i-submit")

    # The old link for the same prompt and size shows the same finished job, labelled too.
    page.goto(live_server.url + "/text2image?" + urlencode({"prompt": job.prompt, "width": 1024, "height": 600}))
    legacy = page.locator("#job-results img").first
    assert any(legacy.get_attribute("src").endswith(image.key) for image in job.images.all())
    assert_ai_labelled(legacy, page.locator("#job-results li .ai-label").first, **english)
    assert GenerationJob.objects.count() == 1


def test_text2image_page_cancels_a_queued_job(live_server, staff_page, enqueued):
    page = staff_page
    page.goto(live_server.url + "/kiosk/text2image/")
    page.click("#t2i-submit")  # the default prompt and 768x512
    page.wait_for_function("() => document.getElementById('t2i-state').textContent.includes('Queued')")
    page.click("#t2i-cancel")
    page.wait_for_selector('#t2i-state[data-state="empty"]')
    assert "Cancelled" in page.inner_text("#t2i-state")
    job = wait_until(lambda: GenerationJob.objects.filter(status=GenerationJob.Status.CANCELLED).first(), message="cancelled job")
    assert (job.width, job.height) == (768, 512)


def test_text2image_page_shows_validation_errors(live_server, staff_page, enqueued):
    page = staff_page
    page.goto(live_server.url + "/kiosk/text2image/")
    page.fill("#t2i-prompt", "   ")
    page.click("#t2i-submit")
    page.wait_for_selector("#t2i-error:not([hidden])")
    assert not GenerationJob.objects.exists()


def test_an_old_get_link_shows_progress_then_the_image(live_server, staff_page, enqueued, settings):
    """GET /text2image?prompt=… (the replaced stable-diffusion server's link) while logged in as staff."""
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    page = staff_page
    response = page.goto(live_server.url + "/text2image?prompt=a+quiet+garden+of+red+tulips&width=1024&height=600")
    assert response.status == 200
    page.wait_for_function("() => document.getElementById('job-state').textContent.includes('Queued')")
    job = GenerationJob.objects.get()
    assert (job.prompt, job.width, job.height, job.created_by) == ("a quiet garden of red tulips", 1024, 600, page.user)

    runner.execute_job(job_id=job.pk, worker="browser-test")  # the worker, while the page polls
    page.wait_for_selector('#job-state[data-state="done"]')
    assert page.get_attribute("#job-progress", "value") == "100"
    img = page.locator("#job-results img").first
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 1024", arg=img.element_handle())
    assert img.get_attribute("src").endswith(job.images.get().key)
    # Reloading the link shows the same job, not a new one.
    page.reload()
    page.wait_for_selector('#job-state[data-state="done"]')
    assert GenerationJob.objects.count() == 1
