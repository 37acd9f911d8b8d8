"""/garden keeps each search key's counters between requests while nothing changed them
(recommend.tokens): an event or a rebuild makes the very next answer read them again."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommend import tokens, training
from recommend.models import CounterChange
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def garden(client, emotion="calm"):
    """(first landscape key, how many times the counters were read) of one /garden answer."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/garden", json.dumps({"id": str(uuid.uuid4()), "emotion": emotion}), content_type="application/json")
    assert response.status_code == 200
    first = response.json()["landscape"][0]["url"].split("/media/", 1)[1]
    return first, sum("recommend_imagestat" in query["sql"] for query in queries.captured_queries)


def like(client, item, shown, django_capture_on_commit_callbacks):
    body = {"id": str(uuid.uuid4()), "itemId": item.key, "impression": [image.key for image in shown]}
    with django_capture_on_commit_callbacks(execute=True):  # as in production: the event commits
        assert client.post("/like", json.dumps(body), content_type="application/json").status_code == 200


def test_counters_are_read_again_only_after_an_event_or_a_rebuild(client, django_capture_on_commit_callbacks):
    a, b, c = (ImageFactory(emotion="calm") for _ in range(3))
    happy = ImageFactory(emotion="happy")
    assert garden(client)[1] == 1
    assert garden(client)[1] == 0  # nothing changed: this process's copy
    like(client, c, [a, b, c], django_capture_on_commit_callbacks)
    first, reads = garden(client)
    assert (first, reads) == (c.key, 1)  # the like shows in the very next answer
    assert garden(client)[1] == 0
    like(client, happy, [happy], django_capture_on_commit_callbacks)  # another emotion's event
    assert garden(client)[1] == 0
    with django_capture_on_commit_callbacks(execute=True):
        training.rebuild()
    assert garden(client)[1] == 1


def test_the_token_changes_with_the_counts_it_covers(client, django_capture_on_commit_callbacks):
    """In the like's own statement (or transaction): whoever reads the new token reads the new counts."""
    calm, happy = ImageFactory(emotion="calm"), ImageFactory(emotion="happy")
    assert tokens.current("calm") == tokens.current("happy") == ""  # no event yet
    like(client, calm, [calm, happy], django_capture_on_commit_callbacks)
    first = tokens.current("calm")
    assert first and tokens.current("happy")  # both emotions' counters changed
    like(client, calm, [calm], django_capture_on_commit_callbacks)
    assert tokens.current("calm") not in ("", first)


def test_likes_of_one_emotion_spread_over_the_token_shards_and_each_changes_the_token(client, django_capture_on_commit_callbacks):
    """No row every like of an emotion must lock: each event writes one random shard of the token,
    and a write to any shard changes the emotion's token (what /garden compares)."""
    calm = ImageFactory(emotion="calm")
    seen = {tokens.current("calm")}
    for _ in range(40):
        like(client, calm, [calm], django_capture_on_commit_callbacks)
        seen.add(tokens.current("calm"))
    assert len(seen) == 41  # every like changed the token
    shards = set(CounterChange.objects.filter(emotion="calm").values_list("shard", flat=True))
    assert len(shards) > 1 and shards <= set(range(tokens.SHARDS))  # 40 likes on one shard: 16**-39


def test_a_cache_outage_leaves_the_tokens_alone(client, settings, django_capture_on_commit_callbacks):
    """Tokens live beside the counters: with no shared cache at all a process still keeps them."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    a, b = ImageFactory(emotion="calm"), ImageFactory(emotion="calm")
    assert garden(client)[1] == 1
    assert garden(client)[1] == 0
    like(client, b, [a, b], django_capture_on_commit_callbacks)
    assert garden(client) == (b.key, 1)
