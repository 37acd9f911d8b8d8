"""`manage.py generate` follows its job with the one wait for a job (generation.waits): its bar read
on each announcement and every FOLLOW_SECONDS, the command ended by the job's end or its --timeout."""

import io
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from generation.management.commands import generate
from generation.models import GenerationJob
from generation.worker import runner

pytestmark = pytest.mark.django_db(transaction=True)  # the painting thread commits what the command reads

ARGS = ("--backend", "procedural", "--emotion", "calm", "--width", "64", "--height", "64", "--steps", "2")


def test_a_job_nobody_paints_is_followed_until_the_timeout(no_enqueue):
    started = time.monotonic()
    with pytest.raises(CommandError, match="queued"):
        call_command("generate", *ARGS, "--timeout", "0.6", verbosity=0)
    assert 0.6 <= time.monotonic() - started < 5


def test_a_job_painted_meanwhile_ends_the_follow(no_enqueue, monkeypatch):
    reads: list = []
    real_wait = generate.waits.wait_for_job

    def counted(job_id, **kwargs):
        shown = kwargs["seen"]
        kwargs["seen"] = lambda job: (reads.append(job.status), shown(job))
        threading.Timer(0.3, lambda: (runner.execute_job(job_id=job_id, worker="test"), connection.close())).start()
        return real_wait(job_id, **kwargs)

    monkeypatch.setattr(generate.waits, "wait_for_job", counted)
    out = io.StringIO()
    call_command("generate", *ARGS, "--timeout", "60", verbosity=0, stdout=out)
    assert "succeeded" in out.getvalue() and GenerationJob.objects.get().status == GenerationJob.Status.SUCCEEDED
    assert reads and reads[-1] == GenerationJob.Status.SUCCEEDED
