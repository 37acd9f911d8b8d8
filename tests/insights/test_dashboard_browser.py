"""The insights page in real headless Chromium, under a strict Content-Security-Policy: every chart
draws non-empty data made by simulate_interactions, real /garden answers with attributed likes and
real generation jobs, and every CSV download equals the table under its chart."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from generation import services as generation_services
from generation.requests import JobRequest
from generation.worker import lifecycle
from generation.worker import runner as worker_runner
from insights import selectors, services
from recommend.models import Interaction
from tests.insights.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'"
)
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""
CANVAS_INK = """(section) => {
  const canvas = section.querySelector("canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { ink += 1; } }
  return ink;
}"""
TABLE_TEXT = """(section) => Array.from(section.querySelectorAll("table tr")).map(
  (row) => Array.from(row.querySelectorAll("th, td")).map((cell) => cell.textContent.trim()))"""


def serve_and_like(visitor_ids: list[str]) -> None:
    """Real kiosk traffic: /garden answers (each a Recommendation), likes and screens attributed to them."""
    kiosk = Client()
    for n, visitor in enumerate(visitor_ids):
        response = kiosk.post("/garden", {"id": visitor, "emotion": "happy/spring,sunny,day"}, content_type="application/json")
        assert response.status_code == 200, response.content
        recommendation = response["X-Recommendation-Id"]
        keys = [item["url"].split("/media/", 1)[1] for item in response.json()["landscape"]][:3]
        if n % 3 == 2:
            body = {"id": visitor, "impression": keys, "recommendationId": recommendation}
            assert kiosk.post("/impression", json.dumps(body), content_type="application/json").status_code == 200
        else:
            body = {"id": visitor, "itemId": keys[n % 3], "impression": keys, "recommendationId": recommendation}
            assert kiosk.post("/like", json.dumps(body), content_type="application/json").status_code == 200


def run_jobs() -> None:
    """Two procedural jobs run by the real runner, and one that fails."""
    for seed in (1, 2):
        job = generation_services.create_job(
            request=JobRequest(emotion="happy", width=64, height=64, steps=2, seed=seed, count=2, backend="procedural"), enqueue=False
        )
        assert worker_runner.execute_job(job_id=job.pk).status == "succeeded"
    failing = generation_services.create_job(request=JobRequest(emotion="calm", width=64, height=64, steps=2, seed=3), enqueue=False)
    lifecycle.fail_job(job_id=failing.pk, error="CUDA out of memory (simulated)")


@pytest.fixture
def garden_data(django_user_model):
    call_command("simulate_interactions", visitors=200, images_per_key=6, emotions=3, no_rebuild=True, stdout=io.StringIO())
    visitors = [str(v) for v in Interaction.objects.values_list("visitor_id", flat=True).distinct()[:12]]
    serve_and_like(visitors)
    run_jobs()
    services.refresh_rollups()
    user = django_user_model.objects.create_user(username="ana", password=PASSWORD)
    services.make_analyst(user=user)
    return user


def test_every_chart_draws_and_its_csv_matches_its_table(live_server, page, garden_data):
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    # The server sends its own policy (config/settings.py); the dashboard gets a stricter one on top,
    # with no inline style either: both apply, and neither may be violated.
    page.route(lambda url: "/admin/insights/dashboard/" in url and "/csv/" not in url, with_csp)
    page.add_init_script(RECORD_VIOLATIONS)
    today = timezone.localdate()
    query = f"?start={(today - timedelta(days=31)).isoformat()}&end={today.isoformat()}"
    page.goto(live_server.url + "/admin/login/?next=" + quote("/admin/insights/dashboard/" + query))
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#insights[data-ready='1']")

    sections = page.locator("section.insights-chart")
    assert sections.count() == len(selectors.CHARTS)
    for index in range(sections.count()):
        section = sections.nth(index)
        chart_id = section.get_attribute("data-chart")
        assert section.get_attribute("data-drawn") == "1", chart_id
        assert int(section.get_attribute("data-points")) > 0, f"{chart_id} drew no data"
        assert section.evaluate(CANVAS_INK) > 1000, f"{chart_id}: blank canvas"
        table = section.evaluate(TABLE_TEXT)
        assert len(table) >= 2, f"{chart_id}: empty table"
        download = page.request.get(live_server.url + section.locator("a.insights-csv").get_attribute("href"))
        assert download.ok and download.headers["content-type"].startswith("text/csv")
        assert list(csv.reader(io.StringIO(download.text()))) == table, f"{chart_id}: CSV differs from the table"

    # The table opens under its chart; the prune list's images link to their admin pages.
    best = page.locator("#chart-best-images")
    best.locator("summary").click()
    assert best.locator("table a").first.get_attribute("href").startswith("/admin/garden/image/")
    assert page.evaluate("window.__cspViolations") == [] and violations == []
    page.unroute_all(behavior="ignoreErrors")
