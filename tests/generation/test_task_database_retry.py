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


def test_a_workers_message_is_passed_on_past_celerys_default_of_three_retries():
    """On a worker every retry goes on while its reason lasts: retry(max_retries=None) alone means
    Celery's default of 3, after which a message passed on a fourth time (or a background job's
    fourth yield) was dropped, its job left queued with no message (bench/library_routing.py's
    smoke timed out so: "Can't retry … MaxRetriesExceededError" in a worker's log). Here a worker's
    message on its eleventh pass is sent on again, through Celery's own retry."""
    from celery import canvas
    from celery.exceptions import Retry

    from generation.models import GenerationJob

    task = tasks.run_generation_job
    queued = GenerationJob(status=GenerationJob.Status.QUEUED)  # nothing this worker could paint
    job_id = "00000000-0000-0000-0000-000000000002"
    task.push_request(
        id="message-1", args=[job_id], kwargs={}, retries=10, is_eager=False, called_directly=False, hostname="w@host", delivery_info={}
    )
    try:
        with (
            mock.patch.object(tasks.runner, "execute_job", return_value=queued),
            mock.patch.object(canvas.Signature, "apply_async", autospec=True) as sent,
            pytest.raises(Retry),
        ):
            task.run(job_id)
    finally:
        task.pop_request()
    (retry,) = sent.call_args_list
    message = retry.args[0]  # the Signature sent
    assert message.options["retries"] == 11 and message.options["countdown"] == 2.0 and tuple(message.args) == (job_id,)


@pytest.mark.django_db(transaction=True)
def test_an_eager_run_gives_up_after_three_retries_instead_of_spinning():
    """Eager (no worker), a retry runs at once: a database that stays away ends the run after
    EAGER_RETRIES, the error raised, rather than looping."""
    calls = []

    def execute_job(*, job_id, worker, heartbeat, message):
        calls.append(job_id)
        raise OperationalError("database is locked")

    with mock.patch.object(tasks.runner, "execute_job", side_effect=execute_job):
        result = tasks.run_generation_job.apply(args=["00000000-0000-0000-0000-000000000003"], throw=False)
    assert result.failed() and isinstance(result.result, OperationalError)
    assert len(calls) == 1 + tasks.EAGER_RETRIES


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
