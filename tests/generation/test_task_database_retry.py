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

    def execute_job(*, job_id, worker, heartbeat):
        calls.append(job_id)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return None  # the job is not runnable any more: the task ends quietly

    with mock.patch.object(tasks.services, "execute_job", side_effect=execute_job):
        # Eager: Celery runs the retry at once in this process (the countdown applies on a worker).
        result = tasks.run_generation_job.apply(args=["00000000-0000-0000-0000-000000000001"])
    assert result.successful(), result.traceback
    assert calls == ["00000000-0000-0000-0000-000000000001"] * 2
