"""The serving version moves with every write of garden's images that may change what is served,
whoever calls it, and not with writes that cannot (garden.freshness)."""

import pytest
from django.db import transaction

from garden import marks, selectors
from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def moved(write) -> bool:
    before = selectors.serving_version()
    write()
    return selectors.serving_version() != before


def test_writes_that_change_the_serving_set_move_the_version():
    pool = ImageFactory(status=Image.Status.POOL)
    assert moved(lambda: ImageFactory(status=Image.Status.SERVING))
    serving = Image.objects.serving().first()
    assert moved(lambda: Image.objects.with_id(pool.pk).update(status=Image.Status.SERVING))
    assert moved(lambda: Image.objects.with_id(serving.pk).update(emotion="sad"))
    assert moved(
        lambda: marks.add_fileless_images(
            [Image(key="emotions/calm/img_x_0h.jpeg", status=Image.Status.SERVING, emotion="calm", orientation="h", width=1, height=1)]
        )
    )
    assert moved(lambda: Image.objects.with_id(serving.pk).delete())
    last = Image.objects.serving().first()
    assert moved(last.delete)


def test_writes_that_cannot_keep_it():
    pool = ImageFactory(status=Image.Status.POOL)
    serving = ImageFactory(status=Image.Status.SERVING)
    assert not moved(lambda: ImageFactory(status=Image.Status.POOL))
    assert not moved(lambda: marks.mark_kept(Image.objects.with_ids([pool.pk, serving.pk])))
    assert not moved(
        lambda: marks.record_safety_verdict(
            serving, safety_verdict=Image.Safety.PASSED, safety_score=0.1, safety_checker="t", safety_reason=""
        )
    )
    assert not moved(lambda: Image.objects.pool().with_id(pool.pk).update(key="imgPool/calm/img_y_0h.jpeg"))
    assert not moved(lambda: Image.objects.rejected().delete())


def test_a_rolled_back_write_restores_the_version():
    pool = ImageFactory(status=Image.Status.POOL)
    before = selectors.serving_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Image.objects.with_id(pool.pk).update(status=Image.Status.SERVING)
        raise RuntimeError
    assert selectors.serving_version() == before


def test_a_union_with_serving_rows_is_not_taken_for_pool_rows():
    serving = ImageFactory(status=Image.Status.SERVING)
    assert moved(lambda: (Image.objects.pool() | Image.objects.with_id(serving.pk)).update(emotion="sad"))
