"""A like is answered 200 only when its row is committed, and never 5xx once it is: what runs after
the commit (counter tokens in the cache, the Personalize mirror) is logged and counted, not raised
(config.outages.after_commit). A client that retries an answered-5xx call therefore never stores
it twice.

Transactional tests: the event commits and its after-commit work runs as in production.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache.backends.filebased import FileBasedCache
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from config.outages import AFTER_COMMIT_FAILURES
from recommend import eventlog, rankers, tokens
from recommend.models import Interaction
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process shares (a file cache stands in for Redis), so likes replace tokens."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def failures(work: str) -> float:
    return AFTER_COMMIT_FAILURES.labels(work)._value.get()


def test_a_like_with_every_cache_write_refused_is_200_stored_once_and_changes_its_token(client, shared_cache, monkeypatch):
    """The counters' token is written in the like's own statement, not in the cache: a cache that
    refuses every write (but the throttle's counter) changes nothing about the like or its token."""
    shown = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in shown]
    visitor = str(uuid.uuid4())

    def refused(*args, **kwargs):  # what django-redis raised before its errors were ignored
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    original_set = FileBasedCache.set

    def refused_but_the_throttle(self, key, *args, **kwargs):
        if not key.startswith("throttle:"):
            refused()
        return original_set(self, key, *args, **kwargs)

    monkeypatch.setattr(FileBasedCache, "set_many", refused)
    monkeypatch.setattr(FileBasedCache, "set", refused_but_the_throttle)
    before = tokens.current("calm")
    response = post(client, "/like", {"id": visitor, "itemId": keys[1], "impression": keys})

    assert response.status_code == 200
    assert response.content == b"Success"
    assert Interaction.objects.filter(visitor_id=visitor, event_type="click").count() == 1
    liked = tokens.current("calm")
    assert liked != before

    # The undo takes back the like's count: its token changes too.
    assert post(client, "/dislike", {"id": visitor, "itemId": keys[1]}).status_code == 200
    assert Interaction.objects.filter(visitor_id=visitor, event_type="dislike").count() == 1
    assert tokens.current("calm") not in (before, liked)


def test_a_like_whose_mirror_fails_is_200_and_stored_once(client, settings, monkeypatch):
    settings.RECOMMEND_BACKEND = "personalize"
    settings.RECOMMEND_PERSONALIZE_TRACKING_ID = "tracking"
    image = ImageFactory(emotion="calm")
    visitor = str(uuid.uuid4())

    def broken(self, event):
        raise RuntimeError("the mirror is down")

    monkeypatch.setattr(rankers.PersonalizeRanker, "record_event", broken)
    before = failures("event mirror")
    assert post(client, "/like", {"id": visitor, "itemId": image.key, "impression": [image.key]}).status_code == 200
    assert Interaction.objects.filter(visitor_id=visitor).count() == 1
    assert failures("event mirror") == before + 1


def test_a_like_that_was_not_stored_is_not_200_and_its_retry_stores_it_once(client, monkeypatch):
    image = ImageFactory(emotion="calm")
    visitor = str(uuid.uuid4())
    body = {"id": visitor, "itemId": image.key, "impression": [image.key]}
    plain = eventlog.write_screen

    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(eventlog, "write_screen", lost)
    response = post(client, "/like", body)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not Interaction.objects.filter(visitor_id=visitor).exists()

    monkeypatch.setattr(eventlog, "write_screen", plain)
    assert post(client, "/like", body).status_code == 200  # the kiosk's retry
    assert Interaction.objects.filter(visitor_id=visitor).count() == 1
