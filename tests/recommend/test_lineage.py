"""A bred picture starts from its parents' evidence (recommend.lineage): the offsets' arithmetic,
the links stored with a bred picture, and /garden's order for a child nobody has seen yet."""

import numpy as np
import pytest
import scipy.special

from garden.looks import LOOK_FIELDS
from garden.models import ImageParent
from recommend import lineage, store, training
from tests.factories import ImageFactory, VisitorFactory
from tests.recommend.test_taste import KEY, exploration_off, look, picture, play, ranked  # noqa: F401 (a fixture)


def test_a_parent_that_beat_its_prediction_gives_its_child_a_head_start_and_its_grandchild_less():
    # Pictures 1 (liked 60 of 100, predicted 20 %) and 2 (seen by nobody); 3 is 1's child, 4 is 3's.
    ids = np.array([1, 2, 3, 4])
    predicted = scipy.special.logit(np.full(4, 0.2))
    found = lineage.offsets(
        links=[(3, 1), (4, 3)],
        ids=ids,
        predicted=predicted,
        likes=np.array([60.0, 0, 0, 0]),
        shown=np.array([100.0, 0, 0, 0]),
        strength=20.0,
        weight=0.5,
    )
    posterior = (60 + 20 * 0.2) / (100 + 20)
    lead = scipy.special.logit(posterior) - scipy.special.logit(0.2)
    assert found.ids.tolist() == [3, 4]
    assert found.offsets[0] == pytest.approx(0.5 * lead)
    # The child has no evidence of its own: its residual is its offset, halved again for its child.
    assert found.offsets[1] == pytest.approx(0.25 * lead)
    assert found.of(np.array([4, 2, 3, 99])).tolist() == pytest.approx([0.25 * lead, 0.0, 0.5 * lead, 0.0])
    loaded = lineage.Lineage.loads(found.dumps())
    assert loaded is not None and np.array_equal(loaded.ids, found.ids) and np.array_equal(loaded.offsets, found.offsets)


def test_a_child_of_two_parents_averages_them_and_a_passed_over_parent_holds_it_back():
    ids = np.array([1, 2, 3])
    found = lineage.offsets(
        links=[(3, 1), (3, 2), (3, 77)],  # 77: a picture gone since
        ids=ids,
        predicted=np.zeros(3),
        likes=np.array([10.0, 0, 0]),
        shown=np.array([100.0, 100, 0]),
        strength=10.0,
        weight=1.0,
    )
    residuals = scipy.special.logit(np.array([15 / 110, 5 / 110]))  # each shrunk toward 0.5
    assert found.offsets.tolist() == pytest.approx([residuals.mean()])
    assert found.offsets[0] < 0


@pytest.mark.django_db
def test_a_bred_picture_is_stored_with_its_parents_and_loses_the_link_with_them():
    mother, father = ImageFactory(emotion="calm"), ImageFactory(emotion="calm")
    child = ImageFactory(emotion="calm", parents=[mother.pk, father.pk, 999_999])  # through garden.services.create_image
    assert sorted(ImageParent.objects.filter(child=child).values_list("parent_id", flat=True)) == sorted([mother.pk, father.pk])
    mother.delete()
    assert list(ImageParent.objects.filter(child=child).values_list("parent_id", flat=True)) == [father.pk]


@pytest.mark.django_db
@pytest.mark.usefixtures("exploration_off")
def test_an_unseen_child_of_a_loved_picture_goes_before_its_unseen_look_alike(settings):
    """Six pictures that look the same; visitors love one of them. A child of the loved one and a fresh
    picture, both unseen and looking like the rest: the child starts where its parent's evidence
    puts it, ahead of the fresh one; with the weight at 0 nothing sets them apart."""
    same = dict.fromkeys(LOOK_FIELDS, 0.5)  # not a hair apart: the look predicts nothing
    pictures = [picture(**same) for _ in range(6)]
    loved = pictures[0]
    crowd = [VisitorFactory(age_group="adult", gender="Female").id for _ in range(8)]
    play(crowd, pictures, 300, likes=lambda image: image == loved)
    child = look(ImageFactory(emotion=KEY, parents=[loved.pk]), **same)
    fresh = picture(**same)  # the newer: on a tie it would go first
    training.rebuild()
    model = store.load_model(store.latest_version_id())
    assert model.lineage is not None and model.lineage.ids.tolist() == [child.pk]
    assert model.lineage.offsets[0] > 0.5  # the loved picture beat its look's prediction by far
    order = ranked(VisitorFactory(age_group="adult", gender="Female").id)
    assert order.index(child.key) < order.index(fresh.key)
    assert order.index(child.key) < min(order.index(image.key) for image in pictures[1:])

    settings.RECOMMEND_LINEAGE_WEIGHT = 0.0
    training.rebuild()
    assert store.load_model(store.latest_version_id()).lineage is None
