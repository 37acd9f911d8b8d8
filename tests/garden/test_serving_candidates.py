"""garden.selectors.serving_candidates and serving_candidates_elsewhere: the rows /garden ranks,
read on a prepared statement (config.sql.hot_cursor) on PostgreSQL and Django's cursor elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from garden import looks
from garden.models import Image, ImageLook
from garden.selectors import serving_candidates, serving_candidates_elsewhere
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db
KEY = "calm/spring,sunny,day"


def aged(image: Image, minutes: int) -> Image:
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return image


def test_a_keys_serving_pictures_newest_first_with_their_looks_and_the_limit():
    old = aged(ImageFactory(emotion="calm", favorite="spring,sunny,day"), 30)
    new = aged(ImageFactory(emotion="calm", favorite="spring,sunny,day"), 10)
    middle = aged(ImageFactory(emotion="calm", favorite="spring,sunny,day"), 20)
    ImageLook.objects.filter(image=middle).delete()  # not measured yet
    ImageFactory(emotion="calm", favorite="spring,sunny,day", status=Image.Status.POOL)
    ImageFactory(emotion="calm", favorite="winter,snowy,day")
    ImageFactory(emotion="sad", favorite="spring,sunny,day")

    rows = serving_candidates(search_key=KEY, limit=10)

    assert [row[0] for row in rows] == [new.pk, middle.pk, old.pk]
    assert rows[0][1:4] == (new.key, new.orientation, KEY)
    stored = ImageLook.objects.get(image=new)
    assert list(rows[0][4:]) == pytest.approx([getattr(stored, name) for name in looks.LOOK_FIELDS])
    assert rows[1][4:] == (None,) * len(looks.LOOK_FIELDS)
    assert [row[0] for row in serving_candidates(search_key=KEY, limit=2)] == [new.pk, middle.pk]


def test_elsewhere_is_the_same_emotions_other_keys_only():
    ImageFactory(emotion="calm", favorite="spring,sunny,day")
    other = aged(ImageFactory(emotion="calm", favorite="winter,snowy,day"), 5)
    bare = aged(ImageFactory(emotion="calm", favorite=""), 1)
    ImageFactory(emotion="calm", favorite="autumn,rainy,night", status=Image.Status.POOL)
    ImageFactory(emotion="sad", favorite="winter,snowy,day")

    rows = serving_candidates_elsewhere(emotion="calm", search_key=KEY, limit=10)

    assert [(row[0], row[3]) for row in rows] == [(bare.pk, "calm"), (other.pk, "calm/winter,snowy,day")]
