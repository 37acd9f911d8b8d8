"""Rebuild, model versions picked up without restart, ranking through /garden, lock, Celery task."""

import json
import uuid

import pytest
from django.core.cache import cache
from django.db import connection, connections

from recommend import serving, tasks, training
from recommend.models import FavoriteStat, ImageStat, ModelVersion
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def garden_keys(client, visitor, emotion="calm"):
    body = post(client, "/garden", {"id": str(visitor.id), "emotion": emotion}).json()
    return [item["url"].split("/media/", 1)[1] for item in body["landscape"]]


def test_rebuild_matches_live_counters_and_publishes_a_version(client):
    visitors = [VisitorFactory(age_group="adult", gender=g) for g in ("Male", "Female", "")]
    images = [ImageFactory(emotion="calm") for _ in range(4)]
    keys = [i.key for i in images]
    for n, visitor in enumerate(visitors):
        post(client, "/like", {"id": str(visitor.id), "itemId": keys[n], "impression": keys[:3]})
        post(client, "/impression", {"id": str(visitor.id), "impression": keys[1:]})
    post(client, "/dislike", {"id": str(visitors[0].id), "itemId": keys[0]})
    live_images = sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes", "dislikes"))
    live_keys = sorted(FavoriteStat.objects.values_list("segment", "search_key", "impressions", "likes"))

    version = training.rebuild()
    assert sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes", "dislikes")) == live_images
    assert sorted(FavoriteStat.objects.values_list("segment", "search_key", "impressions", "likes")) == live_keys
    assert version.metrics["interactions"] == 7
    assert serving.cache.model().version == version.pk


def test_new_version_is_picked_up_without_restart(settings):
    assert serving.cache.model().version == 0
    first = ModelVersion.objects.create(params={"image_strength": 3.0})  # another process's rebuild
    assert serving.cache.model().version == first.pk
    assert serving.cache.model().params.image_strength == 3.0
    ModelVersion.objects.create(params={"image_strength": 4.0})
    assert serving.cache.model().params.image_strength == 4.0


def test_feedback_changes_the_order_and_new_visitors_get_their_segment(client, settings):
    settings.RECOMMEND_EXPLORATION = "none"  # posterior means: a deterministic order
    images = [ImageFactory(emotion="calm") for _ in range(4)]
    newest_first = garden_keys(client, VisitorFactory())
    assert newest_first == [i.key for i in reversed(images)]
    favourite = images[0].key  # the oldest: last without feedback
    for _ in range(8):
        fan = VisitorFactory(age_group="teenager", gender="Male")
        post(client, "/like", {"id": str(fan.id), "itemId": favourite, "impression": [favourite, images[1].key, images[2].key]})
    newcomer = VisitorFactory(age_group="teenager", gender="Male")
    assert garden_keys(client, newcomer)[0] == favourite
    # Once liked (or just shown), it goes behind every alternative for that visitor.
    post(client, "/like", {"id": str(newcomer.id), "itemId": favourite, "impression": [favourite]})
    assert garden_keys(client, newcomer)[-1] == favourite


def test_fresh_images_get_an_exploration_slot(client, settings):
    settings.RECOMMEND_EXPLORATION = "slot"  # the older fixed slot, still selectable
    settings.RECOMMEND_FRESH_IMPRESSIONS = 5
    old = [ImageFactory(emotion="calm") for _ in range(5)]
    visitor = VisitorFactory()
    for n in range(10):  # every old image shown plenty, one liked a lot
        post(client, "/impression", {"id": str(uuid.uuid4()), "impression": [i.key for i in old]})
        post(client, "/like", {"id": str(uuid.uuid4()), "itemId": old[n % 2].key, "impression": [old[n % 2].key]})
    fresh = ImageFactory(emotion="calm")
    assert garden_keys(client, visitor)[2] == fresh.key


def test_rebuild_lock_and_task(settings):
    if connection.vendor == "postgresql":
        other = connections.create_connection("default")  # another process holding the advisory lock
        other.cursor().execute("SELECT pg_advisory_lock(%s)", [training.ADVISORY_LOCK_ID])
        assert tasks.rebuild_model() is None
        # Unlock before closing: a closed session's locks go when its backend exits, a moment later.
        other.cursor().execute("SELECT pg_advisory_unlock(%s)", [training.ADVISORY_LOCK_ID])
        other.close()
    else:
        cache.add(training.LOCK_KEY, "1")
        assert tasks.rebuild_model() is None  # another rebuild is running: skip, do not fail
        cache.delete(training.LOCK_KEY)
    assert ModelVersion.objects.filter(pk=tasks.rebuild_model()).exists()
    assert "recommend-rebuild" in settings.CELERY_BEAT_SCHEDULE


def test_rebuild_with_no_feedback_and_als_without_likes():
    version = training.rebuild(with_als=True)
    assert version.metrics["interactions"] == 0 and version.artefact == b""
