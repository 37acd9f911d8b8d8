"""GET /live/<uuid>?wait=: the bounded long poll the kiosk's tile uses (docs/live.md#get-liveuuid),
woken by the worker's announcement of the job's change (generation.changes), with one read of the
job before the wait and one after.

The job's row is changed by another thread with its own database connection, as a worker's commit
would change it (committed rows: ``transaction=True``), and announced as the worker announces it.
"""

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation import changes
from generation.models import GenerationJob
from live import selectors
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_settings")]


def later(seconds: float, *, announce: bool = True, **fields) -> threading.Thread:
    """Another connection updates the job's row after ``seconds`` (the worker's finishing UPDATE)
    and, unless told not to, announces it as the worker does."""

    def update(job_id):
        time.sleep(seconds)
        try:
            GenerationJob.objects.filter(pk=job_id).update(**fields)
            if announce:
                changes.announce_ids([job_id])
            changed.append(time.monotonic())
        finally:
            connection.close()

    changed: list[float] = []
    thread = threading.Thread(target=update, args=(fields.pop("job_id"),))
    thread.changed = changed  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_waiting_poll_answers_as_soon_as_the_job_finishes(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    GenerationJob.objects.filter(pk=job_id).update(status="running", started_at=timezone.now())
    updater = later(0.4, job_id=job_id, status="failed", finished_at=timezone.now(), error="x")
    started = time.monotonic()
    response = api_client.get(f"/live/{job_id}?wait=8")
    answered = time.monotonic()
    updater.join()
    assert response.status_code == 200 and response.json()["status"] == "failed"
    assert 0.35 < answered - started < 2.0
    assert answered - updater.changed[0] < 0.25  # woken, then the answer, with room for a slow CI


def test_a_waiting_poll_reads_the_job_before_and_after_the_wait_and_nothing_between(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    updater = later(0.2, announce=False, job_id=job_id, status="running", started_at=timezone.now())
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(f"/live/{job_id}?wait=0.8").json()
    updater.join()
    # Not announced: nothing woke it, so it answered at its bound, with the row as it then was.
    assert time.monotonic() - started > 0.75 and body["status"] == "running"
    jobs_read = [query["sql"] for query in queries.captured_queries if "generation_generationjob" in query["sql"]]
    assert len(jobs_read) == 2, jobs_read


def test_a_waiting_poll_answers_when_the_job_starts_or_moves(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    updater = later(0.3, job_id=job_id, status="running", started_at=timezone.now())
    body = api_client.get(f"/live/{job_id}?wait=8").json()
    updater.join()
    assert body["status"] == "running"


def test_a_poll_that_sees_no_change_answers_at_its_bound_with_the_status(api_client, live_worker, no_enqueue, settings):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    started = time.monotonic()
    response = api_client.get(f"/live/{job_id}?wait=0.3")
    assert 0.28 < time.monotonic() - started < 1.5
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert response["Cache-Control"] == "no-store"


def test_a_finished_job_and_no_wait_answer_at_once(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    started = time.monotonic()
    assert api_client.get(f"/live/{job_id}").json()["status"] == "queued"
    GenerationJob.objects.filter(pk=job_id).update(status="cancelled", finished_at=timezone.now())
    assert api_client.get(f"/live/{job_id}?wait=10").json()["status"] == "cancelled"
    assert time.monotonic() - started < 1.0


def test_a_wait_past_the_bound_waits_the_bound(api_client, live_worker, no_enqueue, settings):
    settings.GARDEN_LIVE_WAIT_SECONDS = 0.3
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    started = time.monotonic()
    assert api_client.get(f"/live/{job_id}?wait=3600").json()["status"] == "queued"
    assert 0.28 < time.monotonic() - started < 1.5


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf", ""])
def test_a_bad_wait_is_a_400(api_client, live_worker, no_enqueue, wait):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    response = api_client.get(f"/live/{job_id}", {"wait": wait})
    assert response.status_code == 400 and "wait" in response.json()


def test_past_the_process_slots_a_poll_answers_at_once(api_client, live_worker, no_enqueue, settings):
    settings.GARDEN_LIVE_WAIT_SLOTS = 0
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    started = time.monotonic()
    assert api_client.get(f"/live/{job_id}?wait=5").json()["status"] == "queued"
    assert time.monotonic() - started < 1.0 and selectors.live_waits.waiting == 0
