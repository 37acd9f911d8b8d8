"""Idempotency keys (config.idempotency, kept by infra.idempotency) on /like, /impression, /dislike: a repeat with
the same key is stored once and answered as the first; another body with it is a 422; no key is
as before; the key commits with the like, so a COMMIT whose answer was lost is not stored twice."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.utils import timezone

from config.idempotency import HEADER_NAME, REPLAYED
from garden import tasks
from infra import idempotency
from infra.models import IdempotencyKey
from recommend.models import Interaction
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def post(client, path, body, key=None):
    headers = {HEADER_NAME: key} if key is not None else {}
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def like_body(image, visitor=None) -> dict:
    return {"id": visitor or str(uuid.uuid4()), "itemId": image.key, "impression": [image.key]}


def test_a_repeated_like_with_its_key_is_stored_once_and_answered_as_the_first(client):
    image = ImageFactory(emotion="calm")
    body = like_body(image)
    first = post(client, "/like", body, key="k-1")
    again = post(client, "/like", body, key="k-1")
    assert (first.status_code, first.content) == (again.status_code, again.content) == (200, b"Success")
    assert again["Content-Type"] == first["Content-Type"]
    assert again[REPLAYED] == "true" and not first.has_header(REPLAYED)
    assert Interaction.objects.filter(visitor_id=body["id"], event_type="click").count() == 1
    assert IdempotencyKey.objects.get().scope == f"kiosk:{body['id']}"


def test_the_kiosks_event_id_in_the_body_works_as_the_key(client):
    image = ImageFactory(emotion="calm")
    body = {**like_body(image), "eventId": str(uuid.uuid4())}
    assert post(client, "/like", body).status_code == 200
    assert post(client, "/like", body)[REPLAYED] == "true"
    assert Interaction.objects.filter(visitor_id=body["id"]).count() == 1
    impression = {"id": body["id"], "impression": [image.key], "eventId": "screen-1"}
    assert [post(client, "/impression", impression).status_code for _ in range(2)] == [200, 200]
    dislike = {"id": body["id"], "itemId": image.key, "eventId": "undo-1"}
    assert [post(client, "/dislike", dislike).status_code for _ in range(2)] == [200, 200]
    assert Interaction.objects.filter(visitor_id=body["id"]).count() == 3


def test_the_same_key_with_another_body_is_a_422_and_stores_nothing_more(client):
    first, second = ImageFactory(emotion="calm"), ImageFactory(emotion="calm")
    visitor = str(uuid.uuid4())
    assert post(client, "/like", like_body(first, visitor), key="k-2").status_code == 200
    refused = post(client, "/like", like_body(second, visitor), key="k-2")
    assert refused.status_code == 422
    assert "different request" in refused.json()["detail"]
    assert Interaction.objects.filter(visitor_id=visitor).count() == 1


def test_without_a_key_every_like_is_stored_as_before(client):
    image = ImageFactory(emotion="calm")
    body = like_body(image)
    assert [post(client, "/like", body).status_code for _ in range(2)] == [200, 200]
    assert Interaction.objects.filter(visitor_id=body["id"]).count() == 2
    assert not IdempotencyKey.objects.exists()


def test_two_kiosks_may_use_the_same_key(client):
    image = ImageFactory(emotion="calm")
    one, two = like_body(image), like_body(image)
    assert post(client, "/like", one, key="same").status_code == post(client, "/like", two, key="same").status_code == 200
    assert Interaction.objects.filter(event_type="click").count() == 2


@pytest.mark.parametrize(("key", "body_extra"), [("x" * 256, {}), (None, {"eventId": 7}), (None, {"eventId": ""}), ("caf\u00e9", {})])
def test_a_malformed_key_is_a_400(client, key, body_extra):
    image = ImageFactory(emotion="calm")
    response = post(client, "/like", {**like_body(image), **body_extra}, key=key)
    assert response.status_code == 400
    assert not Interaction.objects.exists()


def test_a_refused_like_keeps_no_key_so_its_retry_runs(client):
    image = ImageFactory(emotion="calm")
    body = {**like_body(image), "itemId": "emotions/calm/nothing.jpeg"}
    assert post(client, "/like", body, key="k-404").status_code == 404
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_commit_whose_answer_was_lost_is_not_stored_twice_by_the_retry(client, monkeypatch):
    """The COMMIT reaches the database but its answer does not: the client sees 503 and retries."""
    image = ImageFactory(emotion="calm")
    body = like_body(image)
    plain = BaseDatabaseWrapper.commit
    cut = {"left": 1}

    def commit_then_lose_the_answer(self):
        plain(self)
        if cut["left"]:
            cut["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(BaseDatabaseWrapper, "commit", commit_then_lose_the_answer)
    lost = post(client, "/like", body, key="k-cut")
    assert lost.status_code == 503 and lost["Retry-After"]
    retry = post(client, "/like", body, key="k-cut")
    assert (retry.status_code, retry.content, retry[REPLAYED]) == (200, b"Success", "true")
    assert Interaction.objects.filter(visitor_id=body["id"]).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_run_once():
    """Kiosks retrying at once with one key: the unique index makes the repeats wait, then replay."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); SQLite serialises writers anyway")
    image = ImageFactory(emotion="calm")
    body = like_body(image)
    threads, answers = 6, []
    barrier = threading.Barrier(threads)

    def kiosk():
        barrier.wait()
        try:
            response = post(Client(), "/like", body, key="k-race")
            answers.append((response.status_code, response.content))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=kiosk) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert answers == [(200, b"Success")] * threads
    assert Interaction.objects.filter(visitor_id=body["id"]).count() == 1


def test_expired_keys_are_swept_and_live_ones_kept(client):
    image = ImageFactory(emotion="calm")
    post(client, "/like", like_body(image), key="old")
    post(client, "/like", like_body(image), key="new")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency.sweep_expired_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    later = timezone.now() + timedelta(hours=25)
    assert idempotency.sweep_expired_keys(now=later) == 1
    assert tasks.sweep_idempotency_keys() == "0 keys swept"


def test_keys_are_kept_for_the_setting(client, settings):
    settings.GARDEN_IDEMPOTENCY_HOURS = 2
    post(client, "/like", like_body(ImageFactory(emotion="calm")), key="k")
    left = IdempotencyKey.objects.get().expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)


def test_the_schema_documents_the_header(client):
    schema = client.get("/api/schema?format=json").json()
    for path in ("/like", "/impression", "/dislike", "/api/v1/jobs", "/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
        names = [parameter["name"] for parameter in schema["paths"][path]["post"].get("parameters", [])]
        assert HEADER_NAME in names, path
        assert {"409", "422"} <= set(schema["paths"][path]["post"]["responses"]), path
    assert "eventId" in schema["components"]["schemas"]["LikeRequest"]["properties"]
