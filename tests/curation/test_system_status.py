"""The admin's System status page, the job pages' "nobody consumes this queue" banner, and the
record of each periodic task's last run (infra.periodic)."""

import shutil
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config import health
from generation import selectors as generation_selectors
from generation.requests import JobRequest
from generation.services import create_job
from infra import periodic
from infra.models import PeriodicRun
from tests.curation.test_library_admin import MODEL_A, PIPELINES, _config_only_pipeline

pytestmark = pytest.mark.django_db

STATUS = reverse("curation:system-status")
JOBS = reverse("admin:generation_generationjob_changelist")
GPU_WORKER = "celery -A config worker --queues gpu --concurrency 1 --loglevel INFO"


def workers(monkeypatch, *queues_per_worker, error=""):
    """Pretend these workers answer (answering_workers is one broadcast; its answer is what matters here)."""
    answer = {"workers": [{"name": f"w{i}@host", "queues": sorted(q)} for i, q in enumerate(queues_per_worker)]}
    if error:
        answer["error"] = error
    monkeypatch.setattr(generation_selectors, "answering_workers", lambda *, timeout: answer)


def queued_jobs(n, *, user=None, backend="diffusers"):
    return [create_job(created_by=user, request=JobRequest(emotion="calm", backend=backend), enqueue=False) for _ in range(n)]


@pytest.fixture
def staff_client(plain_staff):
    client = Client()
    client.force_login(plain_staff)
    return client


def tick_now():
    periodic.started(periodic.BEAT_TICK)
    periodic.finished(periodic.BEAT_TICK, ok=True, detail="tick")


# --- the page ------------------------------------------------------------------------------------


def test_the_status_page_is_staff_only_and_linked_from_the_admin_index(staff_client, kiosk_user, monkeypatch):
    workers(monkeypatch)
    anonymous = Client().get(STATUS)
    assert anonymous.status_code == 302 and reverse("admin:login") in anonymous["Location"]
    kiosk = Client()
    kiosk.force_login(kiosk_user)
    assert kiosk.get(STATUS).status_code == 302  # not staff: the admin's login page
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert f'href="{STATUS}" id="system-status-link"' in index
    page = staff_client.get(STATUS)
    assert page.status_code == 200 and "no-cache" in page.get("Cache-Control", "")


def test_all_well_says_so(staff_client, monkeypatch):
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    page = staff_client.get(STATUS)
    body = page.content.decode()
    assert page.context["problems"] == []
    assert "All parts answer" in body
    for part in ("database", "cache", "broker", "storage"):
        assert f'data-part="{part}" data-ok="1"' in body
    assert 'data-queue="gpu" data-consumers="1"' in body and "w0@host" in body
    assert 'data-entry="beat-tick" data-state="ok"' in body


def test_live_pictures_that_would_never_be_shown_are_a_problem(staff_client, monkeypatch, settings):
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    settings.GARDEN_LIVE_ENABLED, settings.GARDEN_SAFETY_IMAGE_CHECK = True, False
    page = staff_client.get(STATUS)
    [problem] = page.context["problems"]
    assert problem.startswith("Live pictures would never be shown: the image check is off") and "GARDEN_" not in problem
    assert problem in page.content.decode() and "All parts answer" not in page.content.decode()


def test_a_part_that_is_down_is_named(staff_client, monkeypatch):
    def broker_down():
        raise ConnectionRefusedError("no broker")

    monkeypatch.setitem(health.CHECKS, "broker", broker_down)
    workers(monkeypatch, {"default", "gpu"}, error="OperationalError: Error 111 connecting to 127.0.0.1:6379.")
    tick_now()
    page = staff_client.get(STATUS)
    body = page.content.decode()
    assert 'data-part="broker" data-ok="0"' in body
    assert "Broker is down (unreachable)." in page.context["problems"]
    assert any("The workers cannot be asked: OperationalError" in line for line in page.context["problems"])


def test_jobs_waiting_in_a_queue_nobody_consumes(staff_client, monkeypatch):
    workers(monkeypatch, {"default"})  # the GPU worker is stopped
    queued_jobs(3)
    tick_now()
    page = staff_client.get(STATUS)
    assert 'data-queue="gpu" data-consumers="0"' in page.content.decode()
    gpu = next(row for row in page.context["queues"] if row["queue"] == "gpu")
    assert gpu["queued"] == 3 and gpu["unconsumed"]
    assert page.context["problems"] == [f"No worker is consuming queue gpu: 3 jobs wait. Start a worker: {GPU_WORKER}"]


def test_beat_that_never_ticked_or_stopped_ticking(staff_client, monkeypatch):
    workers(monkeypatch, {"default", "gpu"})
    page = staff_client.get(STATUS)
    assert any(line.startswith("Beat has not ticked yet") for line in page.context["problems"])
    assert 'data-entry="beat-tick" data-state="never"' in page.content.decode()
    tick_now()
    PeriodicRun.objects.filter(name=periodic.BEAT_TICK).update(started_at=timezone.now() - timedelta(minutes=10))
    page = staff_client.get(STATUS)
    assert any(line.startswith("Beat has not ticked since") for line in page.context["problems"])
    assert 'data-entry="beat-tick" data-state="late"' in page.content.decode()


def test_periodic_runs_show_their_last_outcome(staff_client, monkeypatch):
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    periodic.started("recommend.tasks.apply_retention")
    periodic.finished("recommend.tasks.apply_retention", ok=False, detail="OperationalError: database is locked")
    page = staff_client.get(STATUS)
    body = page.content.decode()
    assert 'data-entry="apply-retention" data-state="failed"' in body and "database is locked" in body
    assert "The last run of apply-retention failed: OperationalError: database is locked" in page.context["problems"]
    assert 'data-entry="insights-refresh" data-state="never"' in body and "no run recorded" in body


# --- recording periodic runs -----------------------------------------------------------------------


def test_beat_ticks_every_minute():
    assert settings.CELERY_BEAT_SCHEDULE["beat-tick"] == {"task": "garden.tasks.beat_tick", "schedule": 60.0}
    from garden.tasks import beat_tick

    beat_tick()
    run = PeriodicRun.objects.get(name="garden.tasks.beat_tick")
    assert run.ok and run.finished_at >= run.started_at and run.last_ok_at == run.finished_at
    assert run.detail.startswith("tick at ")


def test_the_beat_tasks_record_their_runs_and_failures(monkeypatch):
    from displays import tasks as display_tasks
    from insights import tasks as insight_tasks
    from recommend import tasks as recommend_tasks

    recommend_tasks.apply_retention()
    recommend_tasks.rebuild_model()
    insight_tasks.refresh_rollups()
    display_tasks.refresh_live_zones()
    runs = PeriodicRun.objects.in_bulk()
    beat_tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    recorded = {
        "recommend.tasks.apply_retention",
        "recommend.tasks.rebuild_model",
        "insights.tasks.refresh_rollups",
        "displays.tasks.refresh_live_zones",
    }
    assert recorded <= beat_tasks and recorded <= set(runs)
    assert all(runs[name].ok for name in recorded)
    ok_at = runs["recommend.tasks.apply_retention"].last_ok_at

    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setattr(recommend_tasks.retention, "apply_retention", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        recommend_tasks.apply_retention()
    run = PeriodicRun.objects.get(name="recommend.tasks.apply_retention")
    assert run.ok is False and run.detail == "RuntimeError: disk full" and run.last_ok_at == ok_at


# --- the banner on the job pages ---------------------------------------------------------------------


def test_the_job_pages_warn_when_no_worker_consumes_the_queue(curator, curator_client, monkeypatch, no_enqueue):
    workers(monkeypatch, {"default"})
    jobs = queued_jobs(3, user=curator)
    expected = f"No worker is consuming queue gpu: 3 jobs wait. Start a worker: {GPU_WORKER}"
    for url in (JOBS, reverse("admin:generation_generationjob_change", args=[jobs[0].pk])):
        body = curator_client.get(url).content.decode()
        assert 'id="queue-banner"' in body and expected in body
    page = curator_client.get(reverse("text2image") + "?prompt=a+garden")  # the old link's job page (its job queued too)
    assert page.status_code == 200 and 'id="queue-banner"' in page.content.decode()
    assert "No worker is consuming queue gpu: 3 jobs wait." in page.content.decode()


def test_no_banner_while_a_worker_consumes_the_queue_or_nothing_waits(curator, curator_client, monkeypatch):
    asked = []

    def live(*, timeout):
        asked.append(timeout)
        return {"workers": [{"name": "gpu@host", "queues": ["gpu"]}]}

    monkeypatch.setattr(generation_selectors, "answering_workers", live)
    assert 'id="queue-banner"' not in curator_client.get(JOBS).content.decode()
    assert asked == []  # nothing waits: the workers are not even asked
    queued_jobs(2, user=curator)
    assert 'id="queue-banner"' not in curator_client.get(JOBS).content.decode()
    assert asked == [generation_selectors.QUEUE_CHECK_TIMEOUT]


def test_the_banner_says_when_the_broker_is_down(curator, curator_client, monkeypatch):
    workers(monkeypatch, error="OperationalError: Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    queued_jobs(1, user=curator)
    body = curator_client.get(JOBS).content.decode()
    assert "The broker cannot be reached (OperationalError: Error 111" in body
    assert "1 job waits in queue gpu and no worker can receive them." in body


def test_with_no_worker_running_at_all_the_list_warns(curator, curator_client, settings):
    """No mock: the real broadcast (the test settings' broker) gets no answer within its timeout."""
    queued_jobs(1, user=curator)
    body = curator_client.get(JOBS).content.decode()
    assert 'id="queue-banner"' in body
    assert "No worker is consuming queue gpu: 1 job waits." in body or "The broker cannot be reached" in body


def test_a_periodic_task_that_stopped_running_is_late_in_local_time(staff_client, monkeypatch, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    periodic.started("recommend.tasks.rebuild_model")
    periodic.finished("recommend.tasks.rebuild_model", ok=True, detail="3")
    started = timezone.now() - timedelta(hours=2)
    PeriodicRun.objects.filter(name="recommend.tasks.rebuild_model").update(started_at=started)
    page = staff_client.get(STATUS)
    expected = f"recommend-rebuild has not run since {timezone.localtime(started):%Y-%m-%d %H:%M} KST (every 15 min)."
    assert expected in page.context["problems"]
    assert 'data-entry="recommend-rebuild" data-state="late"' in page.content.decode()
    assert " KST." in page.content.decode()  # "As of … KST."


def test_a_gone_default_model_is_said_once(staff_client, monkeypatch, settings, tmp_path):
    """Once, in the problems: not again beside the default model nor in the last scan's summary."""
    from library.services import follow as library_follow

    for name in PIPELINES:
        _config_only_pipeline(tmp_path / "models" / name)
    settings.GARDEN_MODELS_DIR = str(tmp_path / "models")
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    library_follow.scan_now("command")  # MODEL_A, the first by name, becomes the default
    shutil.move(tmp_path / "models" / MODEL_A, tmp_path / "moved-away")
    library_follow.scan_now("command")  # records the loss and the default's news
    page = staff_client.get(STATUS)
    [problem] = page.context["problems"]
    assert problem.startswith(f"The default model {MODEL_A} cannot be used")
    body = page.content.decode()
    assert body.count(problem) == 1 and f"Default model: {MODEL_A}." in body and f"lost: {MODEL_A}" in body
