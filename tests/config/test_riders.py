"""Cache writes that ride along in the next throttle call (config.riders): a like's counter tokens
cost it no Redis round trip, reach Redis with the next kiosk request or the timer, and survive a
failed call; and reads that ride in it (KioskAPIView.throttle_reads): /garden's token and model
version. On the live Redis (its database 12, emptied before and after)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis
import redis.connection
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory

from config import cache as cache_breaker
from config.api import count_request
from config.riders import riders, set_soon
from recommend import generations
from recommend.candidates import candidate_set
from tests.config.outage_helpers import DEAD_REDIS, live_redis, redis_cache
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)  # likes commit, and their after-commit work runs, as in production

OWN_DB = 12


@pytest.fixture
def live_cache(settings):
    host, port = live_redis()
    own = redis.Redis(host=host, port=port, db=OWN_DB)
    own.flushdb()
    cache_breaker.reset_breakers()
    settings.CACHES = redis_cache(f"redis://{host}:{port}/{OWN_DB}")
    yield own
    riders.take()
    cache_breaker.reset_breakers()
    own.flushdb()


@pytest.fixture
def round_trips(monkeypatch):
    """Packets of commands the Redis client sent (a pipeline is one), by command name."""
    sent: Counter[str] = Counter()
    plain = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        sent["all"] += 1
        return plain(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_likes_tokens_ride_the_next_kiosk_request(client, live_cache, round_trips, monkeypatch):
    monkeypatch.setattr(riders, "send", lambda: None)  # the timer sends nothing within the test
    images = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in images]
    assert post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"}).status_code == 200
    before = generations.current("calm")
    assert before is not None

    round_trips.clear()
    assert post(client, "/like", {"id": str(uuid.uuid4()), "itemId": keys[0], "impression": keys}).status_code == 200
    assert round_trips["all"] == 1  # the throttle's pipeline only: the tokens wait
    assert generations.current("calm") == before

    round_trips.clear()
    assert post(client, "/like", {"id": str(uuid.uuid4()), "itemId": keys[1], "impression": keys}).status_code == 200
    assert round_trips["all"] == 1  # this throttle call carried the first like's token
    after = generations.current("calm")
    assert after not in (None, before)
    assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200  # carries the second like's
    assert generations.current("calm") not in (None, before, after)
    assert riders.take() == {}


def test_the_timer_sends_when_no_request_comes(client, live_cache):
    images = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in images]
    assert post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"}).status_code == 200
    before = generations.current("calm")
    assert post(client, "/like", {"id": str(uuid.uuid4()), "itemId": keys[0], "impression": keys}).status_code == 200
    deadline = time.monotonic() + 5
    while generations.current("calm") == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert generations.current("calm") != before


def test_a_write_waits_through_a_failed_call_and_reads_back_as_the_cache_wrote_it(settings, live_cache, monkeypatch):
    monkeypatch.setattr(riders, "send", lambda: None)
    live = settings.CACHES
    settings.CACHES = redis_cache(DEAD_REDIS)
    set_soon({"rider:token": "abc", "rider:number": 7})
    assert count_request("throttle:riders", window=60) == 0  # Redis unreachable: fails open
    waiting = riders.take()
    assert len(waiting) == 2  # put back after the failed pipeline
    riders.put_back(waiting)

    cache_breaker.reset_breakers()
    settings.CACHES = live
    assert count_request("throttle:riders", window=60) == 1
    assert cache.get("rider:token") == "abc" and cache.get("rider:number") == 7
    assert riders.take() == {}


def test_put_back_keeps_a_newer_value(live_cache):
    set_soon({"rider:token": "old"})
    taken = riders.take()
    set_soon({"rider:token": "new"})
    riders.put_back(taken)
    assert list(riders.take().values()) == [cache.client.encode("new")]


def test_other_caches_write_at_once(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "riders"}}
    set_soon({"rider:token": "now"})
    assert cache.get("rider:token") == "now"
    assert riders.take() == {}


def test_a_process_that_exits_sends_what_waits(live_cache):
    """A management command's writes (a rebuild's tokens) are sent at exit, not lost with the timer."""
    host, port = live_redis()
    code = "from config.riders import set_soon; set_soon({'rider:exit': 'sent'})"
    env = {**os.environ, "CACHE_URL": f"redis://{host}:{port}/{OWN_DB}"}
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=settings.BASE_DIR, env=env, check=True, timeout=120)
    assert list(live_cache.scan_iter("*rider:exit*"))


# --- reads in the throttle's call (KioskAPIView.throttle_reads) ---------------------------------


def test_garden_reads_its_token_and_model_version_in_the_throttle_call(client, live_cache, round_trips, monkeypatch):
    """/garden's counters token and model version come with the throttle's counter: one Redis packet
    a request (two before); the process's own waiting token is written before it is read."""
    monkeypatch.setattr(riders, "send", lambda: None)
    keys = [ImageFactory(emotion="calm").key for _ in range(3)]
    body = {"id": str(uuid.uuid4()), "emotion": "calm"}
    first = post(client, "/garden", body)  # the first also sets the token and the version
    round_trips.clear()
    second = post(client, "/garden", body)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert round_trips["all"] == 1
    candidates = candidate_set(search_key="calm", request=RequestFactory().post("/garden"))
    kept = candidates.counters[""][0]
    assert kept == generations.current("calm")

    assert post(client, "/like", {"id": str(uuid.uuid4()), "itemId": keys[0], "impression": keys}).status_code == 200
    round_trips.clear()
    assert post(client, "/garden", body).status_code == 200
    assert round_trips["all"] == 1  # the like's token rode in, and the new token came back
    assert candidates.counters[""][0] == generations.current("calm") != kept  # the counts were read again


def test_count_request_reads_only_the_keys_that_exist(live_cache):
    cache.set("reads:present", {"a": 1})
    found: dict = {}
    assert count_request("throttle:reads", window=60, reads=("reads:present", "reads:absent"), found=found) == 1
    assert found == {"reads:present": {"a": 1}}
