"""The old link's job page warns while its job waits in a queue nobody consumes, and drops the
warning once the job leaves the queue (real Chromium, the page's own polling)."""

from __future__ import annotations

import pytest

from generation import selectors
from generation.models import GenerationJob
from generation.services import cancel_job
from tests.kiosk.test_text2image_browser import enqueued, staff_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_banner_shows_while_queued_and_goes_when_the_job_leaves_the_queue(live_server, staff_page, enqueued, monkeypatch):  # noqa: F811
    monkeypatch.setattr(selectors, "answering_workers", lambda *, timeout: {"workers": [{"name": "cpu@host", "queues": ["gpu"]}]})
    page = staff_page
    page.goto(live_server.url + "/text2image?prompt=a+garden+of+glass&width=256&height=256")
    banner = page.locator("#queue-banner")
    assert banner.is_visible()
    assert "No worker is consuming queue default: 1 job waits." in banner.inner_text()
    assert "celery -A config worker --queues default --loglevel INFO" in banner.inner_text()
    cancel_job(job=GenerationJob.objects.get())
    page.wait_for_selector('#job-state[data-state="empty"]')
    assert not banner.is_visible()
