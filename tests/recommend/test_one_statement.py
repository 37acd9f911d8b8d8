"""A like or a screen on PostgreSQL is one statement (recommend.eventlog.write_screen): it must store
and count exactly what the step-by-step path (SQLite's, and the reference) does on the same data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from garden.models import Visitor
from garden.visitors import segment_of
from recommend import eventlog, tokens
from recommend.models import CounterChange, FavoriteStat, ImageStat, Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def snapshot() -> dict:
    """What the events wrote: their rows (without ids and times), every counter, and which emotions
    have a change token (its value is random)."""
    events = list(
        Interaction.objects.order_by("id").values_list(
            "visitor_id", "image_id", "item_key", "event_type", "impression", "unknown_keys", "recommendation_id", "segment"
        )
    )
    images = sorted(ImageStat.objects.values_list("image_id", "segment", "impressions", "likes", "dislikes"))
    favorites = sorted(FavoriteStat.objects.values_list("segment", "search_key", "impressions", "likes"))
    changed = sorted(set(CounterChange.objects.values_list("emotion", flat=True)))
    return {"events": events, "images": images, "favorites": favorites, "changed": changed}


def reset() -> None:
    Interaction.objects.all().delete()
    ImageStat.objects.all().delete()
    FavoriteStat.objects.all().delete()
    CounterChange.objects.all().delete()


def screens(keys: list[str], visitor: str, recommendation: int) -> list[dict]:
    """Likes and screens of every shape: known and unknown keys, duplicates, a like off the screen,
    a like of an unknown key (nothing written), a screen of unknown keys (nothing written)."""
    return [
        {"visitor_id": visitor, "item_key": keys[0], "impression": keys[:3], "recommendation_id": recommendation},
        {"visitor_id": visitor, "item_key": keys[3], "impression": [keys[1], "nope", keys[2]], "recommendation_id": None},
        {"visitor_id": "anonymous-1", "item_key": keys[1], "impression": ["nope", "nada"], "recommendation_id": 10**12},
        {"visitor_id": visitor, "item_key": keys[2], "impression": [], "recommendation_id": None},
        {"visitor_id": visitor, "item_key": "nope", "impression": keys[:2], "recommendation_id": None},
        {"visitor_id": visitor, "item_key": "", "impression": [keys[4], "nope", keys[0]], "recommendation_id": recommendation},
        {"visitor_id": "anonymous-2", "item_key": "", "impression": keys[1:4], "recommendation_id": None},
        {"visitor_id": visitor, "item_key": "", "impression": ["nope"], "recommendation_id": None},
    ]


def test_one_statement_stores_and_counts_what_the_steps_do():
    images = [ImageFactory(emotion="calm", favorite="spring") for _ in range(3)] + [ImageFactory(emotion="happy") for _ in range(2)]
    keys = [image.key for image in images]
    visitor = str(VisitorFactory(age_group="adult", gender=" Female ").id)
    recommendation = Recommendation.objects.create(visitor_id=visitor, search_key="calm", image_ids=[], ranker="test").id
    now = timezone.now()
    results = {}
    for name, write in {"steps": eventlog._screen_in_steps, "one": eventlog._screen_in_one_statement}.items():
        reset()
        written = []
        for screen in screens(keys, visitor, recommendation):
            result = write(screen["visitor_id"], screen["item_key"], screen["impression"], screen["recommendation_id"], now)
            written.append(None if result is None else result.event)
        results[name] = (snapshot(), written)

    steps, one = results["steps"], results["one"]
    assert one[0] == steps[0]
    assert one[1] == steps[1]  # the events handed to the mirror, too
    assert [event is None for event in one[1]] == [False, False, False, False, True, False, False, True]
    stored = one[0]["events"]
    assert stored[0][6] == recommendation and stored[2][6] is None  # an unknown recommendation is dropped
    assert stored[0][7] == "adult|female" and stored[2][7] == ""


def test_a_like_is_one_round_trip_and_changes_the_tokens_of_the_emotions_it_counted():
    shown = [ImageFactory(emotion="calm"), ImageFactory(emotion="happy"), ImageFactory(emotion="sad")]
    before = {emotion: tokens.current(emotion) for emotion in ("calm", "happy", "sad")}
    with CaptureQueriesContext(connection) as queries:
        written = eventlog._screen_in_one_statement("v-1", shown[0].key, [image.key for image in shown[:2]], None, timezone.now())
    assert len(queries) == 1
    assert written.event.image_id == shown[0].id
    after = {emotion: tokens.current(emotion) for emotion in ("calm", "happy", "sad")}
    assert after["calm"] != before["calm"] and after["happy"] != before["happy"] and after["sad"] == before["sad"]


@pytest.mark.parametrize(
    ("age_group", "gender"),
    [("adult", "Male"), ("", "female"), ("elder", ""), ("", ""), (" Teenager\t", "\nMALE "), ("child", "\x1fF\x0b")],
)
def test_the_statement_s_segment_is_the_visitor_s_stored_segment(age_group, gender):
    visitor = VisitorFactory(age_group=age_group, gender=gender)  # past the choices, as a raw row could be
    assert Visitor.objects.get(pk=visitor.pk).segment == segment_of(age_group, gender)
    image = ImageFactory()
    written = eventlog._screen_in_one_statement(str(visitor.id), image.key, [image.key], None, timezone.now())
    assert written.event.segment == segment_of(age_group, gender)
    visitor.gender = "female"  # relabelled by a later /emotion (update_or_create saves named fields)
    visitor.save(update_fields=["gender"])
    written = eventlog._screen_in_one_statement(str(visitor.id), image.key, [image.key], None, timezone.now())
    assert written.event.segment == segment_of(age_group, "female")
