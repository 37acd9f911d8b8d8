"""A queued job painted here and now as a worker's task paints it (generation.tasks), for tests whose
server threads share the test's in-memory SQLite with the painting thread.

SQLite's shared in-memory cache answers a write that meets another thread's read with "database table
is locked" at once instead of waiting. The task's answers to that are copied, not bypassed: a lock met
by the claim (one UPDATE, nothing done) is tried again; a lock met after the claim fails the attempt
(TransientJobError), which is queued again (lifecycle.requeue_job) and run again."""

from __future__ import annotations

import time
from functools import partial

from django.db import OperationalError
from django.test import override_settings

from generation.models import GenerationJob
from generation.worker import lifecycle, runner
from generation.worker.toolbox import TransientJobError

TRIES = 100
PAUSE_S = 0.05


def paint_as_worker(job_id, *, worker: str = "test-worker") -> GenerationJob | None:
    """Run the job to its end (see the module's note); the job as it ended. Each lock met after a
    claim uses an attempt: the job's attempts allowed are the tries here, not the worker's few."""
    with override_settings(GARDEN_JOB_MAX_ATTEMPTS=TRIES):
        return _paint(job_id, worker)


def _paint(job_id, worker: str) -> GenerationJob | None:
    for _ in range(TRIES):
        try:
            done = runner.execute_job(job_id=job_id, worker=worker)
        except TransientJobError as exc:
            if "locked" not in str(exc):
                raise
            _when_unlocked(partial(lifecycle.requeue_job, job_id=exc.job_id or job_id, error=str(exc)))
            continue
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(PAUSE_S)
            continue
        if done is None or done.is_finished:
            return done
        time.sleep(PAUSE_S)
    raise AssertionError(f"job {job_id} could not be painted: its table stayed locked")


def _when_unlocked(write) -> None:
    for _ in range(TRIES):
        time.sleep(PAUSE_S)
        try:
            write()
            return
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
    raise AssertionError("the job table stayed locked")
