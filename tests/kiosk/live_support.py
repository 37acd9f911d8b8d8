"""The live picture in the browser tests: the real live API on the procedural painter (the embedded
default), with a worker's presence row on the live queue as a real worker writes it. No broker: the
job POST /live queued stays queued until the test runs it through the service a worker calls, so a
test sees the tile painting, then painted."""

from __future__ import annotations

import pytest
from django.utils import timezone

from generation.models import GenerationJob, WorkerPresence
from tests.worker_runs import paint_as_worker


@pytest.fixture
def live_painter(settings, monkeypatch, transactional_db):
    """POST /live answers 202 and queues a job; the test paints it with ``paint_live_job``."""
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    settings.GARDEN_MODELS_DIR = ""
    settings.GARDEN_LIVE_ENABLED = True
    settings.GARDEN_LIVE_SIZE = 64  # small: the procedural painter is quick at any size, the check too
    queued: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: queued.append((str(job_id), queue))
    )
    WorkerPresence.objects.create(name="live@browser-test", queues=[settings.GARDEN_LIVE_QUEUE], seen_at=timezone.now())
    return queued


def live_jobs():
    return GenerationJob.objects.filter(live_request__isnull=False).order_by("created_at")


def paint_live_job(job: GenerationJob) -> GenerationJob:
    """Run the queued live job as a worker would (the runner, its safety check, the pool image),
    with the task's answers to SQLite's shared-cache lock (tests.worker_runs)."""
    done = paint_as_worker(job.pk, worker="browser-test")
    assert done is not None and done.is_finished, f"the live job {job.pk} could not be painted"
    return done
