"""The live picture in the browser tests: the real live API on the procedural painter (the embedded
default), with a worker's presence row on the live queue as a real worker writes it. No broker: the
job POST /live queued stays queued until the test runs it through the service a worker calls, so a
test sees the tile painting, then painted."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError
from django.utils import timezone

from generation.models import GenerationJob, WorkerPresence
from generation.worker import lifecycle
from generation.worker import runner as worker_runner
from generation.worker.toolbox import TransientJobError


@pytest.fixture
def live_painter(settings, monkeypatch, transactional_db):
    """POST /live answers 202 and queues a job; the test paints it with ``paint_live_job``."""
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    settings.GARDEN_MODELS_DIR = ""
    settings.GARDEN_LIVE_ENABLED = True
    settings.GARDEN_LIVE_SIZE = 64  # small: the procedural painter is quick at any size, the check too
    settings.GARDEN_JOB_MAX_ATTEMPTS = 20  # each lock met in SQLite's shared cache is an attempt (paint_live_job)
    queued: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: queued.append((str(job_id), queue))
    )
    WorkerPresence.objects.create(name="live@browser-test", queues=[settings.GARDEN_LIVE_QUEUE], seen_at=timezone.now())
    return queued


def live_jobs():
    return GenerationJob.objects.filter(live_request__isnull=False).order_by("created_at")


def paint_live_job(job: GenerationJob) -> GenerationJob:
    """Run the queued live job as a worker would (the runner, its safety check, the pool image).

    A worker retries a job that met a transient database error; so does this, as the task does
    (generation.tasks: the attempt queued again, then run again): the live server's threads share
    the test's in-memory SQLite, where a write that meets the page's poll in progress fails at once
    ("database table is locked") instead of waiting."""
    for _ in range(20):
        try:
            done = worker_runner.execute_job(job_id=job.pk, worker="browser-test")
        except TransientJobError as exc:
            if "locked" not in str(exc):
                raise
            _requeue_when_unlocked(exc.job_id or job.pk, str(exc))
            continue
        except OperationalError as exc:  # the claim (one UPDATE) met the lock: nothing was done
            if "locked" not in str(exc):
                raise
            time.sleep(0.1)
            continue
        if done is not None and done.is_finished:
            return done
        time.sleep(0.1)
    raise AssertionError(f"the live job {job.pk} could not be painted")


def _requeue_when_unlocked(job_id, error: str) -> None:
    for _ in range(20):
        time.sleep(0.1)
        try:
            lifecycle.requeue_job(job_id=job_id, error=error)
            return
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
