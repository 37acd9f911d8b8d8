"""Broker outages (issue 19, item 2): creating a job answers as usual while the broker is down.

The job row is the truth; its message is sent when the broker is back (the sweeper re-sends every
job whose send failed at its next run, without waiting GARDEN_JOB_REQUEUE_AFTER_SECONDS). A send
never fails nor holds a request for long: it is bounded, and after a failure the process does not
try again for GARDEN_BROKER_RETRY_AFTER_SECONDS.
"""

from __future__ import annotations

import json
import time

import pytest
from celery import current_app
from django.core.management import call_command
from django.urls import reverse
from kombu.exceptions import OperationalError

from generation.dispatch import enqueue
from generation.models import GenerationJob
from generation.worker.sweeper import resend_lost_jobs
from testkit.servers import gunicorn
from tests.generation.outage_support import ROOT, Installation, RedisServer

SMALL = {"emotion": "calm", "backend": "procedural", "width": 64, "height": 64}


@pytest.fixture
def broker(monkeypatch):
    """The task's ``apply_async``, refusing like a dead Redis while ``down`` is true; counts the tries."""
    task = current_app.tasks[enqueue.RUN_JOB_TASK]
    state = {"down": True, "tries": 0, "sent": []}

    def apply_async(args, queue, **_kwargs):
        state["tries"] += 1
        if state["down"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        state["sent"].append(args[0])

    monkeypatch.setattr(task, "apply_async", apply_async)
    monkeypatch.setattr(enqueue, "_down_until", 0.0)
    yield state
    enqueue._mark_up()


@pytest.mark.django_db(transaction=True)  # commits for real: messages are sent after each commit, as in production
def test_every_way_in_answers_while_the_broker_is_down_and_the_sweeper_sends_later(settings, broker, staff_client, django_user_model):
    settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS = 0
    api = staff_client.post("/api/v1/jobs", SMALL, format="json")
    text2image = staff_client.post("/text2image", {"text": "a garden of glass", "width": 64, "height": 64}, format="json")
    call_command("generate", "--no-wait", "--backend", "procedural", "--emotion", "sad", "--width", "64", "--height", "64", verbosity=0)
    admin = django_user_model.objects.create_superuser("root-outage", password="pw-root-outage-1")
    staff_client.force_login(admin)
    form = {"emotion": "happy", "emotion_text": "joyful", "favorite": "", "others": "flowers", "repeat_count": 1,
            "resolution": "768x512", "steps": 5, "guidance": 7.5, "seed": 11, "backend": "procedural"}  # fmt: skip
    bulk = staff_client.post(reverse("admin:generation_generationjob_add"), form)
    assert (api.status_code, text2image.status_code, bulk.status_code) == (202, 202, 302), (api.content, text2image.content)
    jobs = GenerationJob.objects.all()
    assert jobs.count() == 4
    assert set(jobs.values_list("status", "send_failed")) == {("queued", True)}
    # One try reached the (dead) broker; the other sends within GARDEN_BROKER_RETRY_AFTER_SECONDS did not wait on it.
    assert broker["tries"] == 1

    # Still down: a sweep tries once and leaves the rest for the next sweep.
    enqueue._mark_up()
    assert resend_lost_jobs() == 1
    assert broker["tries"] == 2 and set(jobs.values_list("send_failed", flat=True)) == {True}

    broker["down"] = False  # the broker is back
    enqueue._mark_up()  # (or GARDEN_BROKER_RETRY_AFTER_SECONDS later)
    assert resend_lost_jobs() == 4
    assert sorted(broker["sent"]) == sorted(str(pk) for pk in jobs.values_list("pk", flat=True))
    assert sorted(jobs.values_list("status", "send_failed", "resends")) == [("queued", False, 1)] * 3 + [("queued", False, 2)]


@pytest.mark.slow
def test_a_dead_redis_then_the_broker_back_then_a_worker_runs_the_job(tmp_path):
    """Real processes: gunicorn with CELERY_BROKER_URL at a Redis port nobody listens on answers 202
    at once; once that Redis is up, a worker starts, its sweep re-sends the job, and it runs."""
    redis = RedisServer(tmp_path)  # not started yet: its port refuses connections
    media = tmp_path / "web" / "media"
    settings = {"CELERY_BROKER_URL": redis.url, "GARDEN_GENERATOR_BACKEND": "procedural", "GARDEN_MEDIA_ROOT": str(media)}
    settings["GARDEN_TEXT2IMAGE_WAIT_SECONDS"] = "1"
    # The API only: no page loads a static file, so the compressed copies are not made.
    with gunicorn(tmp_path / "web", workers=1, threads=4, seed=False, compress_static=False, **settings) as server:
        token = server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
            "print(Token.objects.create(user=User.objects.create_user('operator', is_staff=True)).key)",
        ).split()[-1]
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        status, body, seconds = server.call("/api/v1/jobs", json.dumps(SMALL | {"count": 2}).encode(), headers)
        assert status == 202, body
        print(f"\nPOST /api/v1/jobs with the broker down: {status} in {seconds:.2f} s")
        assert seconds < 5
        job_id = json.loads(body)["id"]
        status, body, seconds = server.call(
            "/text2image", json.dumps({"text": "a garden of glass", "width": 64, "height": 64}).encode(), headers
        )
        assert status == 202, body

        garden = Installation(tmp_path / "web", server.env["DATABASE_URL"], redis.url)
        job = garden.job(job_id)
        assert (job["status"], job["send_failed"]) == ("queued", 1 if garden.database_url.startswith("sqlite") else True), job

        redis.start()
        try:
            back = time.monotonic()
            garden.start_worker("w1")
            job = garden.wait_for(job_id, lambda job: job["status"] in ("succeeded", "failed"), timeout=120)
            print(f"broker back → job succeeded {time.monotonic() - back:.1f} s later (worker start included)")
            assert job["status"] == "succeeded" and job["resends"] == 1 and not job["send_failed"], job
            assert len(garden.job_keys(job_id)) == 2
        finally:
            garden.stop_workers()
            redis.stop()


@pytest.mark.slow
def test_a_frozen_redis_holds_a_send_for_seconds_not_forever(tmp_path):
    """A Redis that accepts connections but never answers (SIGSTOP: the kernel still accepts): the
    first send gives up after the socket timeout, the next one does not wait at all."""
    import os
    import signal
    import subprocess
    import sys

    redis = RedisServer(tmp_path)
    redis.start()
    os.kill(redis.process.pid, signal.SIGSTOP)
    code = (
        "import time, uuid, django; django.setup(); from generation.dispatch import enqueue\n"
        "for n in range(2):\n"
        "    t = time.monotonic(); ok = enqueue.enqueue_job(job_id=uuid.uuid4(), queue='default')\n"
        "    print('SEND', ok, round(time.monotonic() - t, 2))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_BROKER_URL": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "GARDEN_VAR_DIR": str(tmp_path / "var"),
    }
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)
        redis.stop()
    sends = [line.split() for line in result.stdout.splitlines() if line.startswith("SEND")]
    assert [ok for _, ok, _ in sends] == ["False", "False"], result.stdout + result.stderr
    first, second = (float(seconds) for _, _, seconds in sends)
    print(f"\nfrozen Redis: first send gave up after {first:.2f} s, the next after {second:.2f} s")
    assert first < 12 and second < 0.5
