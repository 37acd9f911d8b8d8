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
    assert tokens.shared()


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def failures(work: str) -> float:
    return AFTER_COMMIT_FAILURES.labels(work)._value.get()


def test_a_like_whose_cache_update_fails_is_200_and_stored_once(client, shared_cache, monkeypatch):
    shown = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in shown]
    visitor = str(uuid.uuid4())

    def refused(*args, **kwargs):  # what django-redis raised before its errors were ignored
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    original_set = FileBasedCache.set

    def token_refused(self, key, *args, **kwargs):  # the throttle's counter still works
        if key.startswith("recommend:counters:"):
            refused()
        return original_set(self, key, *args, **kwargs)

    monkeypatch.setattr(FileBasedCache, "set_many", refused)  # tokens of several emotions (a rebuild)
    monkeypatch.setattr(FileBasedCache, "set", token_refused)  # one emotion's (a like)
    before = failures("counter tokens")
    response = post(client, "/like", {"id": visitor, "itemId": keys[1], "impression": keys})

    assert response.status_code == 200
    assert response.content == b"Success"
    assert Interaction.objects.filter(visitor_id=visitor, event_type="click").count() == 1
    assert failures("counter tokens") == before + 1

    # The undo runs in one transaction: its after-commit work fails at the commit, still a 200.
    assert post(client, "/dislike", {"id": visitor, "itemId": keys[1]}).status_code == 200
    assert Interaction.objects.filter(visitor_id=visitor, event_type="dislike").count() == 1
    assert failures("counter tokens") == before + 2


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
