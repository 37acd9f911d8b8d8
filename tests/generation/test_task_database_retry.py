"""A job message that meets the database locked or away is tried again, not dropped."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError

from generation import tasks


# The task closes the broken connection before it retries (close_old_connections): that needs
# database access, outside a test transaction (which closing would break on PostgreSQL).
@pytest.mark.django_db(transaction=True)
def test_a_database_error_while_claiming_retries_the_message_instead_of_dropping_it():
    calls = []

    def execute_job(*, job_id, worker, heartbeat, message):
        calls.append(job_id)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return None  # the job is not runnable any more: the task ends quietly

    with mock.patch.object(tasks.runner, "execute_job", side_effect=execute_job):
        # Eager: Celery runs the retry at once in this process (the countdown applies on a worker).
        result = tasks.run_generation_job.apply(args=["00000000-0000-0000-0000-000000000001"])
    assert result.successful(), result.traceback
    assert calls == ["00000000-0000-0000-0000-000000000001"] * 2


@pytest.mark.django_db(transaction=True)
def test_a_message_is_retried_past_celerys_default_of_three_retries():
    """Every retry of the task goes on while its reason lasts: retry(max_retries=None) alone means
    Celery's default of 3, after which a message passed on a fourth time (or meeting the database
    away a fourth time) was dropped, its job left queued with no message (bench/library_routing.py's
    smoke timed out so: "Can't retry … MaxRetriesExceededError" in a worker's log)."""
    calls = []

    def execute_job(*, job_id, worker, heartbeat, message):
        calls.append(job_id)
        if len(calls) <= 5:
            raise OperationalError("database is locked")
        return None

    with mock.patch.object(tasks.runner, "execute_job", side_effect=execute_job):
        result = tasks.run_generation_job.apply(args=["00000000-0000-0000-0000-000000000002"], throw=False)
    assert result.successful(), result.traceback
    assert len(calls) == 6


@pytest.mark.django_db(transaction=True)
def test_a_transient_failure_retries_the_job_that_failed_not_the_one_the_message_named():
    """A worker's message may claim another job than it names (generation.worker.claim): the job
    requeued, and named by the retry, is the one whose attempt failed."""
    from generation.models import GenerationJob
    from tests.generation.test_pull_claim import job

    named, failed = job("a"), job("a", status=GenerationJob.Status.RUNNING, attempts=1)
    calls = []

    def execute_job(*, job_id, worker, heartbeat, message):
        calls.append(job_id)
        if len(calls) == 1:
            raise tasks.toolbox.TransientJobError("CUDA out of memory", job_id=failed.pk)
        return None

    with mock.patch.object(tasks.runner, "execute_job", side_effect=execute_job):
        result = tasks.run_generation_job.apply(args=[str(named.pk)])
    assert result.successful(), result.traceback
    assert calls == [str(named.pk), str(failed.pk)]
    failed.refresh_from_db()
    assert (failed.status, failed.error) == (GenerationJob.Status.QUEUED, "transient error: CUDA out of memory")
    assert GenerationJob.objects.get(pk=named.pk).status == GenerationJob.Status.QUEUED
