"""With the Redis cache down the kiosk keeps answering from the database (config/caches/breaker.py).

The cache here is a real django-redis cache, configured as settings configure one, pointed at a port
where nothing listens (every connection refused), or at a relay in front of the live Redis (its own
database 11) that the test shuts and opens again on the same address. Speed is not asserted: the
breaker is checked by the connections the Redis client really tried to open.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from config import caches
from config.api import count_request
from config.caches import breaker as cache_breaker
from recommend import tokens
from recommend.models import Interaction
from tests.config.outage_helpers import DEAD_REDIS, OWN_DB, ConnectAttempts, RedisDoor, live_redis, redis_cache
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)  # likes commit, and their after-commit work runs, as in production


@pytest.fixture(autouse=True)
def _breakers_closed():
    cache_breaker.reset_breakers()
    yield
    cache_breaker.reset_breakers()


@pytest.fixture
def attempts(monkeypatch):
    return ConnectAttempts(monkeypatch)


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = redis_cache(DEAD_REDIS)
    settings.GARDEN_CACHE_BREAKER_SECONDS = 60  # no probe in the middle of a test on a slow machine
    return 1  # its port


@pytest.fixture
def door(settings):
    """The cache behind a relay to the live Redis (database 11, emptied before and after)."""
    upstream = live_redis()
    own = redis.Redis(host=upstream[0], port=upstream[1], db=OWN_DB)
    own.flushdb()
    relay = RedisDoor(upstream)
    relay.open()
    settings.CACHES = redis_cache(relay.url)
    yield relay
    relay.shut()
    own.flushdb()
    own.close()


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", REMOTE_ADDR="10.0.0.7")


def listed(response) -> list[str]:
    body = response.json()
    return [entry["url"].split("/media/", 1)[1] for entry in body["landscape"] + body["portrait"]]


def forget_process_copies():
    """What a fresh web process has: nothing rendered or loaded in memory, only the shared cache."""
    caches.reset_all(rows_only=True)


def test_kiosk_endpoints_answer_from_the_database_while_the_cache_is_down(client, dead_cache, attempts):
    calm = [ImageFactory(emotion="calm") for _ in range(3)]
    ImageFactory(emotion="happy")  # another emotion: never listed for calm
    visitor = str(uuid.uuid4())
    keys = [image.key for image in calm]

    from_db = post(client, "/gardenfromDB", {"emotion": "calm"})
    assert from_db.status_code == 200
    assert sorted(listed(from_db)) == sorted(keys)

    garden = post(client, "/garden", {"id": visitor, "emotion": "calm"})
    assert garden.status_code == 200
    assert sorted(listed(garden)) == sorted(keys)
    assert garden["X-Recommendation-Id"]

    assert post(client, "/like", {"id": visitor, "itemId": keys[0], "impression": keys}).status_code == 200
    assert post(client, "/impression", {"id": visitor, "impression": keys[1:]}).status_code == 200
    assert post(client, "/dislike", {"id": visitor, "itemId": keys[0]}).status_code == 200
    stored = list(Interaction.objects.order_by("id").values_list("event_type", flat=True))
    assert stored == ["click", "impression", "dislike"]  # each exactly once

    # The like shows at once: its token (in the database, beside the counters) made this process
    # read the counters again.
    again = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert again.status_code == 200
    assert listed(again)[0] == keys[0]

    assert client.get(f"/image?content={keys[0]}").status_code == 200  # the share page
    assert client.get("/").status_code == 200  # the kiosk page
    assert attempts[dead_cache] == 1  # one refused connection; the breaker skipped Redis since


def test_emotion_answers_while_the_cache_is_down(client, dead_cache):
    data = pytest.importorskip("skimage.data")
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG")
    response = client.post("/emotion", buffer.getvalue(), content_type="image/jpeg", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    assert response.json()["emotions"]


def test_the_throttle_fails_open_and_counts_the_failure(client, settings, dead_cache):
    settings.GARDEN_KIOSK_RATE = "2/minute"
    ImageFactory(emotion="calm")
    failures = cache_breaker.FAILURES.labels("throttle")
    before = failures._value.get()
    answers = [post(client, "/gardenfromDB", {"emotion": "calm"}).status_code for _ in range(5)]
    assert answers == [200] * 5  # no 429 and no 500: the throttle fails open
    assert failures._value.get() == before + 1  # one real failure; the open breaker skipped the rest


def test_the_throttle_still_limits_on_a_live_cache(client, settings, door):
    settings.GARDEN_KIOSK_RATE = "2/minute"
    ImageFactory(emotion="calm")
    answers = [post(client, "/gardenfromDB", {"emotion": "calm"}).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_the_breaker_skips_the_server_then_tries_one_call(settings, dead_cache, attempts):
    from django.core.cache import cache

    settings.GARDEN_CACHE_BREAKER_SECONDS = 0.2
    for _ in range(20):
        assert cache.get("anything") is None
        assert count_request("throttle:test", window=60) == 0
    assert attempts[dead_cache] == 1  # not one per call: the breaker opened at the first failure
    time.sleep(0.25)
    for _ in range(20):
        cache.set("anything", 1)
    assert attempts[dead_cache] == 2  # after the interval one call tried (and failed) again
    assert not cache_breaker.available()


def test_the_cache_is_used_again_once_it_is_back(client, settings, door, attempts):
    settings.GARDEN_CACHE_BREAKER_SECONDS = 0.2
    own = redis.Redis(*door.upstream, db=OWN_DB)
    ImageFactory(emotion="calm")
    assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200
    assert own.keys("*garden:rendered:*")  # the rendered answer went to Redis
    assert count_request("throttle:recovery", window=60) == 1

    door.shut()
    own.flushdb()
    forget_process_copies()
    for _ in range(5):
        assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200
    assert not cache_breaker.available()
    tried_while_down = attempts[door.port]

    door.open()
    time.sleep(0.25)
    assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200
    assert cache_breaker.available()
    forget_process_copies()
    assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200
    assert own.keys("*garden:rendered:*")  # written again
    assert count_request("throttle:recovery", window=60) == 1  # counting again (the old count was lost with the flush)
    assert attempts[door.port] > tried_while_down


def test_a_like_during_an_outage_shows_in_the_next_garden_and_after_it(client, settings, door):
    """A process keeps counters under their token; a like while the cache is down changes the token
    in the database, so the kept copy is read again at once, during the outage and after it."""
    settings.GARDEN_CACHE_BREAKER_SECONDS = 0.2
    settings.RECOMMEND_EXPLORATION = "none"  # posterior means: a deterministic order
    images = [ImageFactory(emotion="calm") for _ in range(2)]
    keys = [image.key for image in images]
    first = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert first.status_code == 200
    before = tokens.current("calm")

    door.shut()
    for _ in range(5):  # the lowest-ranked image, liked by several visitors
        liked = listed(first)[-1]
        assert post(client, "/like", {"id": str(uuid.uuid4()), "itemId": liked, "impression": keys}).status_code == 200
    assert tokens.current("calm") != before
    during = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert during.status_code == 200 and listed(during)[0] == liked
    door.open()
    time.sleep(0.25)

    after = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert after.status_code == 200 and listed(after)[0] == liked
