"""Fixtures for the insights tests: analysts, and a small garden of events on two known days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from garden import keys
from garden.models import Image, Visitor
from generation.models import GenerationJob
from insights import services
from recommend.models import Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

PASSWORD = "look-at-numbers-1234"
DAY1 = datetime(2026, 3, 2, tzinfo=UTC)
DAY2 = datetime(2026, 3, 3, tzinfo=UTC)


def at(day: datetime, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=second)


@pytest.fixture
def analyst(db):
    user = get_user_model().objects.create_user(username="ana", password=PASSWORD)
    services.make_analyst(user=user)
    return user


@pytest.fixture
def analyst_client(analyst):
    client = Client()
    client.force_login(analyst)
    return client


@dataclass
class Events:
    a: Image
    b: Image
    c: Image
    calm: Image
    visitors: list[Visitor]


def job(**fields) -> GenerationJob:
    values = {
        "emotion": "calm",
        "prompt": "a calm garden",
        "width": 64,
        "height": 64,
        "steps": 2,
        "guidance": 7.5,
        "seed": 1,
        "backend": "procedural",
        "model_id": "procedural-painter-v1",
        "timestr": "20260302-100000-abc",
    }
    return GenerationJob.objects.create(**{**values, **fields})


@pytest.fixture
def events(db) -> Events:
    """Day 1: three visitors, likes, an impression, a dislike, a hostile key; day 2: one like, one
    visitor with an /emotion reading only. Two gardens served (counting, popularity), three jobs."""
    a, b, c = (ImageFactory(emotion="happy", favorite="spring,sunny,day", orientation=keys.LANDSCAPE) for _ in range(3))
    calm = ImageFactory(emotion="calm")
    v1 = VisitorFactory(emotion="happy", age_group="adult", gender="Female", first_seen=at(DAY1, 10, 14), last_seen=at(DAY2, 9))
    v2 = VisitorFactory(emotion="calm", age_group="elder", gender="Male", first_seen=at(DAY1, 11, 4), last_seen=at(DAY1, 11, 4))
    v3 = VisitorFactory(emotion="", age_group="", gender="", first_seen=at(DAY1, 12), last_seen=at(DAY1, 12))
    v4 = VisitorFactory(emotion="sad", age_group="child", gender="Male", first_seen=at(DAY2, 15), last_seen=at(DAY2, 15))
    shown, served = [a.key, b.key, c.key], [a.pk, b.pk, c.pk]
    key = "happy/spring,sunny,day"
    r1 = Recommendation.objects.create(visitor=v1, search_key=key, image_ids=served, ranker="counting-v3", created_at=at(DAY1, 10))
    r2 = Recommendation.objects.create(visitor=v1, search_key=key, image_ids=served, ranker="popularity", created_at=at(DAY2, 8, 59))
    Recommendation.objects.create(visitor=v4, search_key="calm", image_ids=[calm.pk], ranker="counting-v3", created_at=at(DAY2, 15, 1))
    # A kiosk that never sent a photo: its events carry an id without a Visitor row.
    Interaction.objects.create(visitor_id="kiosk-7", event_type="impression", impression=[calm.key], created_at=at(DAY2, 16))

    def event(visitor, kind, moment, *, item=None, impression=(), recommendation=None):
        Interaction.objects.create(
            visitor=visitor,
            event_type=kind,
            image=item,
            item_key=item.key if item else "",
            impression=list(impression),
            recommendation=recommendation,
            created_at=moment,
        )

    event(v1, "click", at(DAY1, 10, 15), item=a, impression=shown, recommendation=r1)
    event(v1, "impression", at(DAY1, 10, 20), impression=shown, recommendation=r1)
    event(v2, "click", at(DAY1, 11, 5), item=c, impression=shown, recommendation=r1)
    event(v2, "dislike", at(DAY1, 11, 6), item=c, recommendation=r1)
    event(v3, "impression", at(DAY1, 12), impression=["not/a key at all", a.key])
    event(v1, "click", at(DAY2, 9), item=b, impression=shown, recommendation=r2)

    job(status="succeeded", created_at=at(DAY1, 10), started_at=at(DAY1, 10, 0, 30), finished_at=at(DAY1, 10, 1), images_done=2,
        timings={"load": 5.0, "generate": 1.0, "store": 0.2, "thumbnails": 0.1})  # fmt: skip
    job(status="failed", created_at=at(DAY1, 10, 5), finished_at=at(DAY1, 10, 6), error="boom")
    job(status="cancelled", backend="diffusers", model_id="tiny-sd", emotion="happy", created_at=at(DAY2, 10),
        started_at=at(DAY2, 10, 2), finished_at=at(DAY2, 10, 3), images_done=0)  # fmt: skip
    return Events(a=a, b=b, c=c, calm=calm, visitors=[v1, v2, v3, v4])
