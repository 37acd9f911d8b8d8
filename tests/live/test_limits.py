"""The live picture's limits: one job per visitor, GARDEN_LIVE_MAX_QUEUED, GARDEN_LIVE_DAILY_BUDGET;
and a visitor's links forgotten by a deletion request and by retention (docs/privacy.md)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from generation.models import GenerationJob
from live import selectors
from live.models import LiveRequest
from recommend import retention
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_settings", "live_worker", "no_enqueue")]


def job_of(response) -> GenerationJob:
    assert response.status_code == 202, response.content
    return GenerationJob.objects.get(pk=response.json()["job"])


def test_a_visitor_has_one_live_job_the_newest(api_client):
    first = job_of(ask(api_client, {"id": "v1", "emotion": "calm"}))
    GenerationJob.objects.filter(pk=first.pk).update(status="running")
    other = job_of(ask(api_client, {"id": "v2", "emotion": "calm"}))
    second = job_of(ask(api_client, {"id": "v1", "emotion": "happy"}))
    first.refresh_from_db()
    assert first.cancel_requested  # running: stops at its next step
    third = job_of(ask(api_client, {"id": "v1", "emotion": "sad"}))
    second.refresh_from_db()
    assert second.status == "cancelled" and third.status == "queued"
    assert GenerationJob.objects.get(pk=other.pk).status == "queued"  # another visitor's is left alone


def test_the_queue_limit_counts_queued_and_running_live_jobs(api_client, settings):
    settings.GARDEN_LIVE_MAX_QUEUED = 2
    job_of(ask(api_client, {"id": "a", "emotion": "calm"}))
    running = job_of(ask(api_client, {"id": "b", "emotion": "calm"}))
    GenerationJob.objects.filter(pk=running.pk).update(status="running")
    full = ask(api_client, {"id": "c", "emotion": "calm"})
    assert full.status_code == 503 and full.json()["reason"] == "queue_full" and full["Retry-After"] == "2"
    # The same visitor asking again replaces their own job: it does not count against them.
    assert ask(api_client, {"id": "a", "emotion": "happy"}).status_code == 202
    GenerationJob.objects.filter(pk=running.pk).update(status="succeeded")
    assert ask(api_client, {"id": "c", "emotion": "calm"}).status_code == 202


def test_jobs_queued_past_the_kiosk_idle_reset_are_cancelled_and_free_their_place(api_client, settings):
    settings.GARDEN_LIVE_MAX_QUEUED = 1
    abandoned = job_of(ask(api_client, {"id": "a", "emotion": "calm"}))
    assert ask(api_client, {"id": "b", "emotion": "calm"}).json()["reason"] == "queue_full"
    past_reset = timezone.now() - timedelta(seconds=settings.GARDEN_KIOSK_IDLE_SECONDS + 1)
    GenerationJob.objects.filter(pk=abandoned.pk).update(created_at=past_reset)
    assert ask(api_client, {"id": "b", "emotion": "calm"}).status_code == 202
    assert GenerationJob.objects.get(pk=abandoned.pk).status == "cancelled"


def test_a_refused_request_cancels_nothing(api_client, settings):
    settings.GARDEN_LIVE_MAX_QUEUED = 1
    first = job_of(ask(api_client, {"id": "a", "emotion": "calm"}))
    other = GenerationJob.objects.create(
        emotion="calm", prompt="x", width=64, height=64, steps=1, guidance=0, seed=1, timestr="t", queue="live", live=True
    )
    LiveRequest.objects.create(job=other, visitor_id="other", search_key="calm")
    assert ask(api_client, {"id": "a", "emotion": "happy"}).json()["reason"] == "queue_full"
    assert GenerationJob.objects.get(pk=first.pk).status == "queued"


def test_the_daily_budget_counts_todays_live_jobs(api_client, settings):
    settings.GARDEN_LIVE_DAILY_BUDGET = 2
    for visitor in ("a", "b"):
        job = job_of(ask(api_client, {"id": visitor, "emotion": "calm"}))
        GenerationJob.objects.filter(pk=job.pk).update(status="succeeded")
    spent = ask(api_client, {"id": "c", "emotion": "calm"})
    assert spent.status_code == 503 and spent.json()["reason"] == "budget_spent"
    assert 0 < int(spent["Retry-After"]) <= 24 * 3600
    GenerationJob.objects.update(created_at=selectors.day_start() - timedelta(minutes=1))  # yesterday's
    assert ask(api_client, {"id": "c", "emotion": "calm"}).status_code == 202
    settings.GARDEN_LIVE_DAILY_BUDGET = 0  # no limit
    GenerationJob.objects.update(created_at=timezone.now(), status="succeeded")
    assert ask(api_client, {"id": "d", "emotion": "calm"}).status_code == 202


def test_forget_visitor_deletes_their_live_requests_and_cancels_the_unfinished(api_client):
    done = job_of(ask(api_client, {"id": "gone", "emotion": "calm"}))
    GenerationJob.objects.filter(pk=done.pk).update(status="succeeded")
    waiting = job_of(ask(api_client, {"id": "gone", "emotion": "happy"}))
    kept = job_of(ask(api_client, {"id": "stays", "emotion": "calm"}))
    deleted = retention.forget_visitor(visitor_id="gone")
    assert deleted.job_links == 2
    assert not LiveRequest.objects.filter(visitor_id="gone").exists()
    assert not LiveRequest.objects.filter(job__in=[done.pk, waiting.pk]).exists()
    assert GenerationJob.objects.get(pk=waiting.pk).status == "cancelled"
    assert GenerationJob.objects.get(pk=done.pk).status == "succeeded"  # the picture stays: it was painted from a key
    assert LiveRequest.objects.get(job=kept.pk).visitor_id == "stays"
    assert not GenerationJob.objects.filter(options__icontains="gone").exists()  # no copy of the id in the jobs' rows


def test_forget_visitor_command_counts_the_links(api_client, capsys):
    job_of(ask(api_client, {"id": "1234567890", "emotion": "calm"}))
    call_command("forget_visitor", "1234567890")
    assert "1 live job link(s)" in capsys.readouterr().out


def test_retention_clears_the_links_of_finished_live_jobs(api_client, capsys):
    finished = job_of(ask(api_client, {"id": "a", "emotion": "calm"}))
    GenerationJob.objects.filter(pk=finished.pk).update(status="failed")
    waiting = job_of(ask(api_client, {"id": "b", "emotion": "calm"}))
    call_command("apply_retention")
    assert "Cleared 1 live job link(s)." in capsys.readouterr().out
    assert LiveRequest.objects.get(job=finished.pk).visitor_id == ""
    assert LiveRequest.objects.get(job=waiting.pk).visitor_id == "b"  # still needed while in flight
    assert selectors.live_job(finished.pk) is not None  # the kiosk may still read the finished picture
