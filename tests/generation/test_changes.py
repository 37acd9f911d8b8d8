"""A job's change announced and waited for (generation.changes), on the embedded defaults' file
channel, and on Redis where one answers: a watch begun before the announcement is woken by it, one
of another job or begun after it is not, and a live job's start is said while another job's is not
(generation.worker.attempt.announce: nobody waits for it)."""

import threading
import time
import uuid

import pytest
from django.conf import settings

from generation import changes
from testkit.local_services import reachable, redis_url

pytestmark = pytest.mark.backend_free


@pytest.fixture(params=["file", "redis"])
def channel(request, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    if request.param == "redis":
        url = redis_url()
        if not reachable(url):
            pytest.skip("needs Redis")
        settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}}
    assert changes.channel_kind() == request.param
    yield request.param
    changes.stop_listeners()


class Job:
    def __init__(self, live: bool = True) -> None:
        self.pk, self.live = uuid.uuid4(), live


def later(seconds: float, jobs: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), changes.announce_ids([job.pk for job in jobs])))
    thread.start()
    return thread


def test_a_watch_is_woken_by_its_jobs_announcement_only(channel):
    job, other = Job(), Job()
    with changes.watching(job.pk) as watch:
        announcing = later(0.1, [other])
        assert watch.wait(0.4) is False  # another job's change
        announcing.join()
        announcing = later(0.05, [job])
        started = time.monotonic()
        assert watch.wait(5) is True and time.monotonic() - started < 1.0
        announcing.join()


def test_an_announcement_before_the_watch_began_does_not_wake_it(channel):
    job = Job()
    with changes.watching(job.pk):
        pass  # the listener is up
    changes.announce_ids([job.pk])
    time.sleep(0.1)
    with changes.watching(job.pk) as watch:
        assert watch.wait(0.2) is False


def test_the_listening_connection_takes_the_database_s_options():
    from django.db.backends.postgresql.base import DatabaseWrapper

    database = DatabaseWrapper(
        {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql", "NAME": "garden", "USER": "garden",
         "HOST": "db.example", "PORT": "5433", "OPTIONS": {"sslmode": "verify-full", "options": "-c statement_timeout=5000"}}
    )  # fmt: skip
    info = changes._conninfo(database)
    assert info["sslmode"] == "verify-full" and info["options"] == "-c statement_timeout=5000"
    assert (info["dbname"], info["user"], info["host"], info["port"]) == ("garden", "garden", "db.example", "5433")
    assert "cursor_factory" not in info and "context" not in info


def test_the_file_starts_again_past_its_limit_and_its_listener_follows(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(changes, "FILE_LIMIT_BYTES", 200)
    try:
        job = Job()
        with changes.watching(job.pk) as watch:
            changes.announce_ids([Job().pk for _ in range(10)])  # past 200 bytes: the file starts again
            assert changes.changes_file().stat().st_size == 0
            later(0.05, [job]).join()
            assert watch.wait(2) is True
    finally:
        changes.stop_listeners()


@pytest.mark.django_db
def test_a_start_is_said_only_of_live_jobs_and_an_end_of_every_job(monkeypatch, django_capture_on_commit_callbacks):
    from generation.worker import attempt

    said: list = []
    monkeypatch.setattr(changes, "announce_ids", said.extend)
    live, other = Job(), Job(live=False)
    with django_capture_on_commit_callbacks(execute=True):  # said once the change commits
        attempt.announce([live, other])
        attempt.announce(ids=[other.pk])
        assert said == []
    assert said == [live.pk, other.pk]
