"""Issue 79's walk, as a new operator takes it, in real headless Chromium: the System status page,
the bulk form, the jobs list while jobs wait and paint, a job's page; axe-core on each. Then issue 85's:
an SD client's wrong passwords and the admin's login, a stack with no live model, "Install a model"
with no library.

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
    page.select_option("#id_backend", "procedural")
    # Issue 85 item 9: the emotion by its label, no steps for the procedural painter, and why no time estimate yet.
    plan.filter(has_text="1 job (Calm), 20 pictures. The demo's procedural painter paints each picture at once").wait_for()
    assert "No time estimate yet" in plan.inner_text() and page.locator("#id_hires_fix").count() == 1
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
    # The first job of a model on a queue with no timings: it says why it has no estimate (issue 85 item 9).
    new_model = job(
        queue="gpu-b", model="garden-new", status=GenerationJob.Status.RUNNING, worker="w9", stage=GenerationJob.Stage.PAINTING,
        started_at=now, progress_at=now, steps_done=5, created_at=now - timedelta(seconds=1),
    )  # fmt: skip
    page.goto(live_server.url + JOBS)
    page.wait_for_function(
        "(id) => document.querySelector(`.job-progress[data-job='${id}'] .job-progress-text`).textContent.includes('in queue')",
        arg=str(queued.pk),
    )
    # One count per row: the images column follows the same answer as the progress cell.
    assert page.inner_text(f".job-images[data-job='{running.pk}']") == "4/8"
    painting = progress_text(page, running)
    assert painting.startswith("Painting · 50%") and "/" not in painting, painting
    assert "First run on this model: no estimate yet" in progress_text(page, new_model)
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


# --- Issue 85: a venue's first day ---------------------------------------------------------------

CURATOR_PASSWORD = "pw-curator-85-right"


def test_an_sd_clients_wrong_passwords_never_lock_the_curator_out(live_server, page, django_user_model):
    """Item 1: twelve wrong Basic calls, then the admin's login with the right password from the
    same address (127.0.0.1 for both) logs in; the admin's own lockout is the site's page, in Korean."""
    import requests

    django_user_model.objects.create_superuser("curator", "curator@example.org", CURATOR_PASSWORD)
    statuses = [requests.get(live_server.url + "/sdapi/v1/sd-models", auth=("curator", f"wrong-{n}"), timeout=30) for n in range(12)]
    assert [answer.status_code for answer in statuses][-1] == 429 and statuses[-1].headers["Retry-After"]

    page.goto(live_server.url + "/admin/login/?next=/admin/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", CURATOR_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + "/admin/")
    assert page.locator("#user-tools").count() == 1  # logged in: today, a 429 "Account locked" page

    page.context.clear_cookies()
    page.set_extra_http_headers({"Accept-Language": "ko"})
    for n in range(5):
        page.goto(live_server.url + "/admin/login/?next=/admin/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", f"wrong-{n}")
        page.click("input[type=submit]")
    notice = page.locator("#lockout")
    notice.wait_for()
    assert "15분 후에 다시 시도해 주세요" in notice.inner_text()  # Korean, with the minutes left
    assert page.locator("link[href*='admin/css/login.css']").count() == 1 and page.locator("#header").count() == 1
    assert "Account locked" not in page.content()
    assert_accessible(page, where="the admin's lockout page (ko)")


def test_a_stack_that_cannot_paint_live_pictures_says_so(live_server, operator_page, settings, monkeypatch, tmp_path):
    """Item 2: a library that can paint, no model marked live and none turbo-class."""
    from library.models import LibraryEntry

    page = operator_page
    monkeypatch.setattr(generation_selectors, "answering_workers", lambda *, timeout: {"workers": []})
    settings.GARDEN_MODELS_DIR, settings.GARDEN_GENERATOR_BACKEND, settings.GARDEN_LIVE_ENABLED = str(tmp_path), "diffusers", True
    (tmp_path / "dreamy.safetensors").write_bytes(b"weights")
    LibraryEntry.objects.create(kind="pipeline", name="dreamy", path="dreamy.safetensors", family="sd1", is_default=True)

    page.goto(live_server.url + "/curation/status/")
    assert "No model paints live pictures" in page.inner_text("#status-problems")
    live = page.inner_text("#status-painting tr[data-fact='live']")
    assert "none" in live and "dreamy" in page.inner_text("#status-painting tr[data-fact='painter']")
    assert_accessible(page, where="the System status page with no live model")

    page.goto(live_server.url + "/admin/library/libraryentry/")
    problem = page.locator("#library-live-problem")
    assert problem.is_visible() and "Paint live pictures with it (one model)" in problem.inner_text()

    # The kiosk's call answers the same sentence (the kiosk writes it to its console, never on screen).
    answer = page.evaluate(
        "() => fetch('/live', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({id: 'v', emotion: 'calm'})}).then(r => r.json().then(b => [r.status, b]))"
    )
    assert answer[0] == 503 and answer[1]["reason"] == "no_live_model" and "No model paints live pictures" in answer[1]["detail"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("not a url", "not an http(s) URL, an existing file or folder, or a Hub repo id"),
        ("ftp://example.org/model.safetensors", "only http(s) URLs, Hub repo ids (owner/name) and local paths can be installed"),
        ("http://127.0.0.1:9/model.safetensors", "is a private, loopback or link-local address"),
    ],
)
def test_install_a_model_with_no_library_refuses_bad_input_at_once(live_server, operator_page, settings, source, reason):
    """Item 4: refused in the form's answer, no row left queued, no reload."""
    page = operator_page
    settings.GARDEN_MODELS_DIR, settings.GARDEN_MODELS_STORE, settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = "", "", False
    page.goto(live_server.url + "/admin/library/libraryentry/install/")
    page.fill("#id_source", source)
    page.click("#install-submit")
    error = page.locator(".errorlist")
    error.first.wait_for()
    assert reason in error.first.inner_text()
    assert "waiting for a worker" not in page.content()


def test_the_kiosk_says_in_its_console_why_no_live_tile_shows(live_server, page, settings):
    """Item 2, the kiosk's side: no tile for the visitor, and the server's reason and fix written
    once to the console, where whoever sets the kiosk up looks (today: a failed request only). The
    kiosk page's own live code (Kiosk.Live) asks twice, as two visitors would."""
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"  # a real model configured, none marked for live pictures
    warnings = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.goto(live_server.url + "/")
    page.wait_for_function("() => window.Kiosk && window.Kiosk.Live")
    with page.expect_response(lambda r: r.url.endswith("/live")) as answer:
        page.evaluate(
            """() => {
                const part = () => document.createElement("div");
                window.testLive = new window.Kiosk.Live({url: "/live", tile: part(), row: part(), announce: part()});
                window.testLive.request("visitor-1", "calm");
            }"""
        )
    assert answer.value.status == 503 and answer.value.json()["reason"] == "no_live_model"
    with page.expect_response(lambda r: r.url.endswith("/live")):
        page.evaluate('() => window.testLive.request("visitor-2", "calm")')
    page.wait_for_timeout(300)
    said = [text for text in warnings if "kiosk live picture: none painted (no_live_model)" in text]
    assert len(said) == 1 and "No model paints live pictures" in said[0]  # once per reason, with the fix
