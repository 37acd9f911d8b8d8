"""An A1111 txt2img waiting for its job (a1111.waits) is answered by the job's announcement
(generation.changes): at once when the job succeeds or is interrupted, with no read meanwhile.
With the announcements down it is answered by its bounded reread: test_a1111_wait_server.py.

The request waits in a thread of its own (its own connection); the test's thread runs the job
once the request waits, so the two never write at once (SQLite's shared in-memory test database
locks whole tables)."""

import json
import threading
import time

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from a1111 import waits
from generation import changes
from generation.models import GenerationJob, WorkerPresence
from generation.worker import runner

pytestmark = pytest.mark.django_db(transaction=True)  # the waiting request's thread reads what this one commits


@pytest.fixture
def waiting_client(settings, media_dir, no_enqueue):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"  # the demo paints txt2img
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    WorkerPresence.objects.create(name="test@gpu", queues=["gpu"], gpu=True, seen_at=timezone.now() + timezone.timedelta(hours=1))
    return APIClient()


@pytest.fixture
def in_wait(monkeypatch) -> threading.Event:
    """Set once the request waits for an announcement (past its first read of the job)."""
    waiting = threading.Event()
    wait = changes.Watch.wait

    def said_waiting(watch, seconds):
        waiting.set()
        return wait(watch, seconds)

    monkeypatch.setattr(changes.Watch, "wait", said_waiting)
    return waiting


def wait_in_a_thread(client, in_wait: threading.Event) -> tuple[threading.Thread, dict]:
    """A txt2img posted from another thread; returns once it waits for its job."""
    answer: dict = {}

    def post() -> None:
        with CaptureQueriesContext(connections["default"]) as queries:  # this thread's connection
            answer["queries"] = queries
            response = client.post("/sdapi/v1/txt2img", {"prompt": "a calm garden", "steps": 1, "width": 64, "height": 64}, format="json")
        answer.update(status=response.status_code, body=response.json(), at=time.monotonic())
        connection.close()

    thread = threading.Thread(target=post)
    thread.start()
    assert in_wait.wait(timeout=60), "the txt2img never waited"
    return thread, answer


def test_a_waiting_txt2img_answers_at_its_jobs_announcement(waiting_client, in_wait, monkeypatch):
    monkeypatch.setattr(waits, "REREAD_SECONDS", 60.0)  # no reread: only the announcement can end the wait
    thread, answer = wait_in_a_thread(waiting_client, in_wait)
    waited_from = len(answer["queries"])
    time.sleep(1.0)
    assert len(answer["queries"]) == waited_from, "the wait read the job while nothing changed"
    job = runner.execute_job(job_id=GenerationJob.objects.get().pk, worker="test@gpu")
    finished = time.monotonic()
    thread.join(timeout=30)
    assert job.status == "succeeded" and answer["status"] == 200, answer
    assert answer["at"] - finished < 2.0, f"answered {answer['at'] - finished:.2f}s after the job succeeded"


def test_an_interrupt_of_a_queued_job_ends_the_wait_at_once(waiting_client, in_wait, monkeypatch):
    monkeypatch.setattr(waits, "REREAD_SECONDS", 60.0)
    thread, answer = wait_in_a_thread(waiting_client, in_wait)
    assert waiting_client.post("/sdapi/v1/interrupt").status_code == 200  # the same caller (the trusted address)
    interrupted = time.monotonic()
    thread.join(timeout=30)
    # A1111 answers 200 with what was painted: nothing yet, and info says it was interrupted.
    assert answer["status"] == 200 and GenerationJob.objects.get().status == "cancelled", answer
    assert answer["body"]["images"] == [] and json.loads(answer["body"]["info"])["warnings"] == ["interrupted: 0 of 1 pictures painted."]
    assert answer["at"] - interrupted < 2.0
