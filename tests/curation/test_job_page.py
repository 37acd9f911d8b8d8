"""A job's page as an operator reads it (issue 85, item 9): a finished job says it is finished, not
the stage it was last in; its timings are a table of phases in seconds, not raw JSON; its times read
to the second; its favorite in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from generation.models import GenerationJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_job():
    return GenerationJob.objects.create(
        emotion="calm", favorite="winter,sunny,the-early-dawn", prompt="a calm garden", width=512, height=512, steps=10,
        guidance=7.0, seed=1, count=3, images_total=6, images_done=6, steps_total=60, steps_done=60, timestr="t",
        backend="diffusers", queue="gpu", status=GenerationJob.Status.SUCCEEDED, stage=GenerationJob.Stage.PAINTING,
        timings={"load": 9.04, "generate": 41.5, "store": 3.25}, created_at=datetime(2026, 11, 28, 9, 30, 15, tzinfo=UTC),
    )  # fmt: skip


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 16))
    return client


def test_a_finished_jobs_page_says_finished_with_timings_as_a_table(admin_client, finished_job):
    html = admin_client.get(f"/admin/generation/generationjob/{finished_job.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    stage = html.split('class="form-row field-stage_now"')[1].split("</div>\n")[0]
    assert "Succeeded" in stage and "Painting" not in stage
    timings = html.split('<table class="job-timings">')[1].split("</table>")[0]
    assert '<th scope="row">loading the model</th><td>9.0 s</td>' in timings
    assert '<th scope="row">painting</th><td>41.5 s</td>' in timings and "{" not in timings
    assert "2026-11-28 09:30:15" in html  # to the second (UTC, the test settings' zone)
    assert "Winter, Sunny, Early dawn" in html and "winter,sunny,the-early-dawn" not in html.split('id="content"')[1]


def test_the_same_page_in_japanese(admin_client, finished_job):
    html = admin_client.get(f"/admin/generation/generationjob/{finished_job.pk}/change/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<th scope="row">描画</th><td>41.5秒</td>' in html
    assert "冬、晴れ、" in html


def test_recent_actions_name_a_job_without_the_state_it_was_in(admin_client, no_enqueue):
    """The admin log keeps a job's name as it was: a name with its status ("images job … (queued)")
    read as the job's state long after it changed."""
    from django.contrib.admin.models import LogEntry

    from curation import services
    from generation.services import JobRequest, create_job

    user = get_user_model().objects.get(username="root")
    job = create_job(created_by=user, request=JobRequest(kind="bulk", emotion="calm", count=1, backend="procedural"), enqueue=False)
    services.cancel_jobs(jobs=GenerationJob.objects.filter(pk=job.pk), user=user)
    entry = LogEntry.objects.get()
    assert entry.object_repr == f"Job {str(job.pk)[:8]}"
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert entry.object_repr in html and "(queued)" not in html and "(cancelled)" not in html


def test_recent_actions_name_each_object_in_the_pages_language(admin_client, no_enqueue):
    """The admin log keeps the name written in English; the Korean index names the job in Korean,
    and a job deleted since keeps the stored name."""
    from django.contrib.admin.models import LogEntry
    from django.utils import translation

    from curation import services
    from generation.services import JobRequest, create_job

    user = get_user_model().objects.get(username="root")
    with translation.override("en"):
        kept = create_job(created_by=user, request=JobRequest(kind="bulk", emotion="calm", count=1, backend="procedural"), enqueue=False)
        gone = create_job(created_by=user, request=JobRequest(kind="bulk", emotion="sad", count=1, backend="procedural"), enqueue=False)
        services.cancel_jobs(jobs=GenerationJob.objects.filter(pk__in=[kept.pk, gone.pk]), user=user)
    assert set(LogEntry.objects.values_list("object_repr", flat=True)) == {f"Job {str(kept.pk)[:8]}", f"Job {str(gone.pk)[:8]}"}
    GenerationJob.objects.filter(pk=gone.pk).delete()
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    sidebar = html.split('id="recent-actions-module"')[1]
    with translation.override("ko"):
        assert str(kept) in sidebar and str(kept) != f"Job {str(kept.pk)[:8]}"
    assert f"Job {str(kept.pk)[:8]}" not in sidebar and f"Job {str(gone.pk)[:8]}" in sidebar
