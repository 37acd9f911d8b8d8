"""Issue 79's walk, as a new operator takes it, in real headless Chromium: the System status page,
the bulk form, the jobs list while jobs wait and paint, a job's page; axe-core on each.

What it looks for is what misled before: live pictures withheld in silence, Happy checked at first,
an estimate that leaves out the queue ahead and does not count down, two counts on one row, "about
0 s left" while pictures are stored, a server path as the model. The kiosk's side of the walk is in
tests/kiosk/test_live_browser.py (no tile on a 409) and tests/kiosk/test_languages_browser.py (the
age line, "Image 1 of 1")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from generation import selectors as generation_selectors
from generation.models import GenerationJob
from tests.a11y import assert_accessible
from tests.accessibility.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JOBS = "/admin/generation/generationjob/"
MP = 512 * 512 / 1e6


@pytest.fixture
def operator_page(page, live_server, django_user_model):
    log_in(page, live_server, django_user_model.objects.create_superuser("operator", "op@example.org", "pw-operator-79"))
    yield page
    if not page.is_closed():
        page.goto("about:blank")  # stop the pages' polling before the database is flushed


def job(**fields) -> GenerationJob:
    values = {
        "emotion": "calm", "prompt": "a calm garden", "width": 512, "height": 512, "steps": 10, "guidance": 7.0, "seed": 1,
        "count": 4, "images_total": 8, "steps_total": 20, "timestr": "t", "backend": "diffusers", "queue": "gpu",
        "model": "garden-one",
    }  # fmt: skip
    return GenerationJob.objects.create(**(values | fields))


def progress_text(page, row: GenerationJob) -> str:
    return page.inner_text(f".job-progress[data-job='{row.pk}'] .job-progress-text")


def seconds_left(text: str) -> int:
    found = re.search(r"about (\d+) s left", text)
    assert found, text
    return int(found.group(1))


def test_the_operators_walk(live_server, operator_page, settings, monkeypatch, no_enqueue):
    page = operator_page
    settings.GARDEN_SAFETY_IMAGE_CHECK = False  # a CPU box: live pictures would all be withheld
    monkeypatch.setattr(generation_selectors, "answering_workers", lambda *, timeout: {"workers": []})

    # 1. System status says live pictures would never be shown.
    page.goto(live_server.url + "/curation/status/")
    problems = page.inner_text("#status-problems")
    assert "Live pictures would never be shown: the image check is off" in problems and "GARDEN_" not in problems
    assert_accessible(page, where="the System status page")

    # 2. The bulk form starts with nothing checked, and says what Generate would start before it does.
    page.goto(live_server.url + JOBS + "add/")
    assert page.locator("input[name=emotion]:checked").count() == 0
    plan = page.locator("#generate-plan")
    plan.filter(has_text="No emotion checked: nothing would start.").wait_for()
    assert_accessible(page, where="the bulk generate form")
    page.check("input[name=emotion][value=calm]")
    plan.filter(has_text="1 job (calm), 20 pictures. Each picture is painted in one pass of").wait_for()
    page.select_option("#id_backend", "procedural")
    page.click("#generate-submit")
    page.wait_for_selector("text=Started job")
    assert list(GenerationJob.objects.values_list("emotion", flat=True)) == ["calm"]  # Calm alone, not Happy too
    GenerationJob.objects.all().delete()

    # 3. The jobs list while one job paints and another waits behind it.
    done = {"status": GenerationJob.Status.SUCCEEDED, "worker": "w1", "created_at": timezone.now() - timedelta(hours=1)}
    job(timings={"load": 9.0, "generate": 10 * MP * 8, "store": 8.0}, **done)  # 1 s per MP step, 1 s storing a picture
    now = timezone.now()
    running = job(
        status=GenerationJob.Status.RUNNING, worker="w1", stage=GenerationJob.Stage.PAINTING, started_at=now, progress_at=now,
        steps_done=10, images_done=4, created_at=now - timedelta(seconds=2),
    )  # fmt: skip
    queued = job(model="garden-two", created_at=now)
    page.goto(live_server.url + JOBS)
    page.wait_for_function(
        "(id) => document.querySelector(`.job-progress[data-job='${id}'] .job-progress-text`).textContent.includes('in queue')",
        arg=str(queued.pk),
    )
    # One count per row: the images column follows the same answer as the progress cell.
    assert page.inner_text(f".job-images[data-job='{running.pk}']") == "4/8"
    painting = progress_text(page, running)
    assert painting.startswith("Painting · 50%") and "/" not in painting, painting
    waiting = progress_text(page, queued)
    assert "#1 in queue" in waiting
    # The queue ahead (about 14 s) and garden-two's load (9 s, the newest load on the queue) are counted.
    first = seconds_left(waiting)
    assert first >= seconds_left(painting) + 9
    assert_accessible(page, where="the jobs list")
    # It counts down while the job ahead paints, though no step was written meanwhile.
    page.wait_for_function(
        "([id, first]) => { const m = document.querySelector(`.job-progress[data-job='${id}'] .job-progress-text`)"
        ".textContent.match(/about (\\d+) s left/); return m && Number(m[1]) <= first - 2; }",
        arg=[str(queued.pk), first],
        timeout=8000,
    )

    # 4. Past its last step and its estimate, storing its pictures: it says so, never "about 0 s left".
    GenerationJob.objects.filter(pk=running.pk).update(steps_done=20, images_done=7, progress_at=timezone.now() - timedelta(minutes=5))
    page.wait_for_function("(id) => document.querySelector(`.job-images[data-job='${id}']`).textContent === '7/8'", arg=str(running.pk))
    finishing = progress_text(page, running)
    assert finishing == "Decoding, checking and storing the pictures", finishing

    # 5. A job's page names the model, not its path on the server, and says how its pictures are painted.
    GenerationJob.objects.filter(pk=running.pk).update(model="", model_id="/srv/garden/models/garden-one")
    page.goto(live_server.url + JOBS + f"{running.pk}/change/")
    content = page.content()
    assert "/srv/garden" not in content and "garden-one" in page.inner_text(".field-model_name")
    assert page.inner_text(".field-passes .readonly") == "Each picture is painted in one pass of 10 steps."
    assert page.inner_text(f".job-images[data-job='{running.pk}']") == "7/8"
    assert_accessible(page, where="a job's page")
