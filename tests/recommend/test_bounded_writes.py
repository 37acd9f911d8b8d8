"""Anonymous callers cannot fill the database: hostile calls grow it by a bounded, asserted amount."""

import json
import uuid

import pytest
from django.db import connection

from garden.models import Visitor
from recommend.models import Interaction, Recommendation
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

CALLS = 100


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def stored_bytes(table: str, columns: list[str]) -> int:
    """The bytes of the variable-length values the table holds (what grows with hostile input)."""
    lengths = " + ".join(f"COALESCE(LENGTH(CAST({column} AS TEXT)), 0)" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM({lengths}), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def test_hostile_anonymous_calls_grow_the_database_by_a_bounded_amount(client, settings):
    settings.GARDEN_KIOSK_RATE = "100000/minute"  # this test is about storage, not the rate limit
    garden = [ImageFactory(emotion="calm", orientation=o) for o in "hv" * 60]  # 120 serving images
    keys = [image.key for image in garden]
    junk = [f"emotions/calm/{'x' * 480}_{n}h.jpeg" for n in range(50)]  # 50 unknown keys of ~500 characters
    for _ in range(CALLS):
        visitor = str(uuid.uuid4())  # a new made-up visitor every call
        assert post(client, "/impression", {"id": visitor, "impression": junk}).status_code == 200
        assert post(client, "/garden", {"id": visitor, "emotion": "calm"}).status_code == 200
        assert post(client, "/like", {"id": visitor, "itemId": keys[0], "impression": [keys[0], *junk[:2]]}).status_code == 200

    assert Visitor.objects.count() == 0  # ids that never came through /emotion make no visitor
    assert Interaction.objects.count() == CALLS  # the likes; the all-unknown screens store nothing
    assert Recommendation.objects.count() == CALLS
    like = Interaction.objects.first()
    assert (like.impression, like.unknown_keys) == ([keys[0]], 2)  # unknown keys dropped, counted

    interactions = stored_bytes(Interaction._meta.db_table, ["visitor_id", "item_key", "impression"])
    recommendations = stored_bytes(Recommendation._meta.db_table, ["visitor_id", "search_key", "image_ids", "ranker"])
    # Per call: a like names one ~60-character key twice and a 36-character id (~170 bytes); a
    # Recommendation keeps 12 ids per orientation, not 120 keys (it used to be ~1.6 KB).
    assert interactions / CALLS < 200
    assert recommendations / CALLS < 200
    # The hostile payloads were 50 x 500 characters per impression call (~25 KB): none of it is kept.
    assert interactions + recommendations < CALLS * 400
