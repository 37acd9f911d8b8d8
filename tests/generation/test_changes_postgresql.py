"""The long poll's PostgreSQL channel against a real server (DATABASE_URL): the listener's own
connection is made with the database's OPTIONS (here an ``application_name`` that
``pg_stat_activity`` shows), and a NOTIFY wakes the watch of its job."""

import time
import uuid

import pytest
from django.db import connection, connections

from generation import changes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Job:
    pk, live = None, True

    def __init__(self) -> None:
        self.pk = uuid.uuid4()


def test_the_listener_connects_with_the_database_s_options_and_a_notify_wakes_its_watch(monkeypatch, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    # PostgreSQL carries the announcements where the cache is not Redis (CI's PostgreSQL pass has a Redis cache).
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert changes.channel_kind() == "postgresql"
    changes.stop_listeners()  # a listener made before the OPTIONS below would not show them
    connection.ensure_connection()  # this test's own connection keeps the options it was made with
    name = f"garden-listen-{uuid.uuid4().hex[:8]}"
    settings_dict = connections["default"].settings_dict
    monkeypatch.setitem(settings_dict, "OPTIONS", {**settings_dict.get("OPTIONS", {}), "application_name": name})
    job = Job()
    try:
        with changes.watching(job.pk) as watch:
            with connection.cursor() as cursor:
                cursor.execute("SELECT query FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()", [name])
                assert [query for (query,) in cursor.fetchall()] == [f"LISTEN {changes.PG_CHANNEL}"]
            assert watch.wait(0.2) is False
            changes.announce_ids([job.pk])  # autocommit: NOTIFY is delivered at once
            assert watch.wait(5) is True
    finally:
        changes.stop_listeners()
    # The listener's connection is closed with it. Its server process leaves pg_stat_activity a moment after
    # the client hangs up (CI once read it still there), so the row is looked for until a bound.
    assert _backends_named(name, within_seconds=10) == 0


def _backends_named(name: str, within_seconds: float) -> int:
    deadline = time.monotonic() + within_seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name])
            (count,) = cursor.fetchone()
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.05)
