"""POST /like: plain `Success`, every like stored with its impression, bad input → 4xx."""

import json
import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from recommend.models import Interaction
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

VISITOR = "47f9eeb5-4252-435e-a1c9-b4a936f015ae"


def like(client, body):
    return client.post("/like", data=json.dumps(body), content_type="application/json")


def test_like_is_stored_with_impression_and_visitor():
    shown = [ImageFactory(emotion="calm") for _ in range(3)]
    response = like(Client(), {"id": VISITOR, "itemId": shown[1].key, "impression": [image.key for image in shown]})

    assert response.status_code == 200
    assert response.content == b"Success"
    assert response["Content-Type"].startswith("text/plain")
    interaction = Interaction.objects.get()
    assert str(interaction.visitor_id) == VISITOR
    assert interaction.image == shown[1]
    assert interaction.event_type == "click"
    assert interaction.impression == [image.key for image in shown]
    assert interaction.created_at.microsecond or interaction.created_at.second is not None


def test_keys_cut_from_percent_encoded_urls_are_understood(client):
    image = ImageFactory(emotion="happy", favorite="spring,cloudy,day")
    encoded = image.key.replace(",", "%2C")
    assert like(client, {"id": VISITOR, "itemId": encoded, "impression": [encoded]}).status_code == 200
    assert Interaction.objects.get().impression == [image.key]


def test_a_full_image_url_is_accepted_as_item_id_like_on_impression(client):
    image = ImageFactory(emotion="happy", favorite="spring,cloudy,day")
    url = f"https://kiosk.example.org/media/{image.key}"
    assert like(client, {"id": VISITOR, "itemId": url, "impression": [url]}).status_code == 200
    row = Interaction.objects.get()
    assert (row.item_key, row.impression) == (image.key, [image.key])


def test_two_likes_in_the_same_second_are_both_kept(client):
    image = ImageFactory()
    for _ in range(2):
        assert like(client, {"id": VISITOR, "itemId": image.key, "impression": [image.key]}).status_code == 200
    assert Interaction.objects.filter(visitor_id=VISITOR).count() == 2


def test_unknown_item_is_404_and_stores_nothing(client):
    response = like(client, {"id": VISITOR, "itemId": "emotions/calm/img_20230320-121242_6h.jpeg", "impression": []})
    assert response.status_code == 404
    assert "Unknown item" in response.json()["detail"]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"itemId": "emotions/calm/img_1_1h.jpeg"}),
        json.dumps({"id": True, "itemId": "emotions/calm/img_1_1h.jpeg"}),
        json.dumps({"id": None, "itemId": "emotions/calm/img_1_1h.jpeg"}),
        json.dumps({"id": {"a": 1}, "itemId": "emotions/calm/img_1_1h.jpeg"}),
        json.dumps({"id": VISITOR}),
        json.dumps({"id": VISITOR, "itemId": 5}),
        json.dumps({"id": VISITOR, "itemId": "k", "impression": [0]}),
        json.dumps({"id": VISITOR, "itemId": "k", "impression": "k"}),
        json.dumps({"id": VISITOR, "itemId": "k", "impression": ["a", "b", "c", "d", "e"]}),
    ],
)
def test_malformed_like_is_400(client, body):
    response = client.post("/like", data=body, content_type="application/json")
    assert response.status_code == 400
    assert not Interaction.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_are_all_counted():
    """Many kiosks liking at once (same visitor, same image): every like becomes a row."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); SQLite serialises writers anyway")
    images = [ImageFactory() for _ in range(3)]
    visitors = [str(uuid.uuid4()) for _ in range(4)]
    threads, per_thread, statuses = 8, 10, []
    barrier = threading.Barrier(threads)

    def kiosk(n):
        client = Client()
        barrier.wait()
        try:
            for i in range(per_thread):
                image = images[(n + i) % 3]
                body = {"id": visitors[n % 4], "itemId": image.key, "impression": [im.key for im in images]}
                statuses.append(like(client, body).status_code)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=kiosk, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert statuses == [200] * (threads * per_thread)
    assert Interaction.objects.filter(event_type="click").count() == threads * per_thread
