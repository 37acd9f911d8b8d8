"""axe-core (WCAG 2.0/2.1 A and AA) on the staff pages, each with real data to show: pool images
to review, jobs run by the real runner, simulated visitors' traffic in the insights rollups."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.utils import timezone

from garden.models import Image
from generation import services as generation_services
from generation.requests import JobRequest
from generation.worker import lifecycle
from generation.worker import runner as worker_runner
from insights import services as insights_services
from tests.a11y import assert_accessible
from tests.accessibility.conftest import log_in
from tests.factories import ImageFactory
from tests.kiosk.conftest import KIOSK

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args() -> dict:
    return dict(KIOSK)


@pytest.fixture
def staff_page(page, live_server, staff_user):
    log_in(page, live_server, staff_user)
    yield page
    if not page.is_closed():
        page.goto("about:blank")  # stop the pages' polling before the database is flushed


def run_jobs() -> None:
    """Two procedural jobs run by the real runner, and one that fails: the jobs list has every state."""
    for seed in (1, 2):
        job = generation_services.create_job(
            request=JobRequest(emotion="happy", width=64, height=64, steps=2, seed=seed, count=2, backend="procedural"), enqueue=False
        )
        assert worker_runner.execute_job(job_id=job.pk).status == "succeeded"
    failing = generation_services.create_job(request=JobRequest(emotion="calm", width=64, height=64, steps=2, seed=3), enqueue=False)
    lifecycle.fail_job(job_id=failing.pk, error="CUDA out of memory (simulated)")


def test_review_page(live_server, staff_page):
    for i in range(4):
        ImageFactory(status=Image.Status.POOL, emotion="calm", seed=1000 + i, prompt=f"calm garden {i}")
    staff_page.goto(live_server.url + "/curation/review/")
    # The first pool image is on the stage once its state badge has text (review.js fills it).
    staff_page.wait_for_function("() => document.getElementById('stage-state').textContent.trim() !== ''")
    assert_accessible(staff_page, where="the review page")
    # The image list of the same pictures (its thumbnail column had no header: td-has-header), in Japanese.
    staff_page.context.add_cookies([{"name": "django_language", "value": "ja", "url": live_server.url}])
    staff_page.goto(live_server.url + "/admin/garden/image/")
    staff_page.wait_for_selector("#result_list")
    assert staff_page.get_attribute("html", "lang") == "ja"
    assert_accessible(staff_page, where="the image list (ja)")


def test_bulk_generate_form_and_jobs_list(live_server, staff_page):
    staff_page.goto(live_server.url + "/admin/generation/generationjob/add/")
    staff_page.wait_for_selector("form")
    assert_accessible(staff_page, where="the bulk generate form")
    run_jobs()
    staff_page.goto(live_server.url + "/admin/generation/generationjob/")
    staff_page.wait_for_selector("#result_list")
    staff_page.wait_for_load_state("load")  # not "networkidle": the list polls its jobs' progress
    assert_accessible(staff_page, where="the jobs list")


def test_insights_dashboard(live_server, staff_page):
    call_command("simulate_interactions", visitors=200, images_per_key=6, emotions=3, no_rebuild=True, stdout=io.StringIO())
    run_jobs()
    insights_services.refresh_rollups()
    today = timezone.localdate()
    query = f"?start={(today - timedelta(days=31)).isoformat()}&end={today.isoformat()}"
    staff_page.goto(live_server.url + "/admin/insights/dashboard/" + query)
    staff_page.wait_for_selector("#insights[data-ready='1']")
    # The parts an audit found failing are on the page: the prune list's pictures and the coverage grid.
    assert staff_page.locator(".prune-table img").count() > 0
    assert staff_page.locator(".coverage-scroll").count() == 1
    assert_accessible(staff_page, where="the insights dashboard")


def test_gardener_report(live_server, staff_page):
    staff_page.goto(live_server.url + "/admin/gardener/gardeneraction/report/")
    staff_page.wait_for_selector("#content")
    assert_accessible(staff_page, where="the gardener's report")


def test_system_status(live_server, staff_page):
    run_jobs()
    staff_page.goto(live_server.url + "/curation/status/")
    staff_page.wait_for_selector("#content")
    assert_accessible(staff_page, where="the system status page")


def test_model_library(live_server, staff_page):
    staff_page.goto(live_server.url + "/admin/library/libraryentry/")
    staff_page.wait_for_selector("#content")
    assert_accessible(staff_page, where="the model library")


def test_admin_index(live_server, staff_page):
    staff_page.goto(live_server.url + "/admin/?next=" + quote("/admin/"))
    staff_page.wait_for_selector("#content")
    assert_accessible(staff_page, where="the admin index")


def test_fleet_page_and_a_screens_page(live_server, staff_page):
    from screens import services as screens_services
    from screens.models import Screen

    screen = Screen.objects.create(name="Hall kiosk", location="hall")
    screens_services.open_enrolment(screen=screen)
    staff_page.goto(live_server.url + "/admin/screens/screen/")
    staff_page.wait_for_selector("#result_list")
    assert_accessible(staff_page, where="the fleet page")
    staff_page.goto(live_server.url + f"/admin/screens/screen/{screen.pk}/change/")
    staff_page.wait_for_selector("#screen-overview")
    assert_accessible(staff_page, where="a screen's page")
