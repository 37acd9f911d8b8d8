"""The surrogate of a key's like-rates (gardener.surrogate) and how breeding uses it: each child the
best of several proposals by the surrogate's upper bound, fitted on every picture visitors saw,
retired ones included, which are never parents."""

import random
from dataclasses import replace

import numpy as np
import pytest

from garden.models import Image
from gardener import breeding, selectors, surrogate
from generation.backends import recipes
from recommend.models import ImageStat
from tests.factories import ImageFactory
from tests.gardener.conftest import serving_with_stats

LIKED, PASSED_OVER = recipes.recipe_for("calm", "", 0), recipes.recipe_for("angry", "winter,snowy", 0)


def near(recipe: recipes.Recipe, rng: random.Random) -> recipes.Recipe:
    return recipes.mutate(recipe, rng, 0.3)


def test_features_are_numbers_in_zero_to_one_of_a_fixed_length():
    rng = random.Random(1)
    rows = [surrogate.features(recipes.mutate(recipes.recipe_for(e, "", s), rng, 1.0)) for e in ("calm", "sad") for s in range(5)]
    assert len({len(row) for row in rows}) == 1
    assert all(((row >= 0) & (row <= 1)).all() for row in rows)
    # The layout seed is no feature: a new layout is the same look.
    assert np.array_equal(surrogate.features(LIKED), surrogate.features(replace(LIKED, layout_seed="elsewhere")))


def test_the_surrogate_predicts_more_likes_where_visitors_liked_more():
    rng = random.Random(2)
    seen = [(near(LIKED, rng), 200, 80) for _ in range(6)] + [(near(PASSED_OVER, rng), 200, 10) for _ in range(6)]
    model = surrogate.LikeRates.fit(seen)
    assert model is not None
    (liked, passed_over), _ = model.predict([near(LIKED, rng), near(PASSED_OVER, rng)])
    assert liked > 0.3 > 0.1 > passed_over
    # Far from everything seen: the key's pooled rate, and the widest doubt.
    far = recipes.mutate(recipes.mutate(recipes.recipe_for("happy", "summer,sunny,day", 3), rng, 1.0), rng, 1.0)
    mean, sd = model.predict([far, LIKED])
    assert abs(mean[0] - model.prior) < abs(mean[1] - model.prior) and sd[0] > sd[1]


def test_no_surrogate_until_enough_pictures_were_seen():
    rng = random.Random(3)
    few = [(near(LIKED, rng), 100, 30) for _ in range(surrogate.MIN_SEEN - 1)]
    assert surrogate.LikeRates.fit(few) is None
    assert surrogate.LikeRates.fit(few + [(LIKED, 0, 0)] * 3) is None  # unseen pictures say nothing
    assert surrogate.LikeRates.fit([*few, (LIKED, 100, 30)]) is not None


def test_children_step_where_the_surrogate_expects_likes_and_retired_pictures_are_never_parents():
    rng = random.Random(1)
    # Two serving parents, one of each look, liked alike; the retired pictures near LIKED were
    # liked, those near PASSED_OVER passed over.
    parents = [breeding.Candidate(1, near(LIKED, rng), 100, 20), breeding.Candidate(2, near(PASSED_OVER, rng), 100, 20)]
    retired = [breeding.Candidate(10 + n, near(LIKED, rng), 100, 40, serving=False) for n in range(5)]
    retired += [breeding.Candidate(20 + n, near(PASSED_OVER, rng), 100, 5, serving=False) for n in range(5)]
    with_surrogate = breeding.breed(parents + retired, 40, random.Random(5))
    without = breeding.breed(parents, 40, random.Random(5))
    assert all(set(child.parents) <= {1, 2} for child in with_surrogate)

    def nearer_liked(children) -> float:
        return sum(recipes.distance(c.recipe, LIKED) < recipes.distance(c.recipe, PASSED_OVER) for c in children) / len(children)

    assert nearer_liked(without) < 0.7 < 0.9 < nearer_liked(with_surrogate)


def test_retired_pictures_alone_are_no_parents():
    retired = [breeding.Candidate(n, LIKED, 100, 30, serving=False) for n in range(6)]
    with pytest.raises(ValueError, match="at least 2"):
        breeding.breed([breeding.Candidate(1, LIKED, 100, 30), *retired], 1, random.Random(0))


@pytest.mark.django_db
def test_breeding_candidates_add_the_key_s_seen_pictures_that_no_longer_serve():
    serving = serving_with_stats([30, 20])
    retired = serving_with_stats([5], impressions=60)[0]
    retired.status = Image.Status.POOL
    retired.save()
    unseen = ImageFactory(status=Image.Status.POOL)
    other_key = serving_with_stats([9], emotion="happy")[0]
    other_key.status = Image.Status.REJECTED
    other_key.save()
    ImageStat.objects.create(image=unseen, segment="adult|", impressions=0, likes=0)

    candidates = {c.image_id: c for c in selectors.breeding_candidates("calm", "")}
    assert set(candidates) == {serving[0].pk, serving[1].pk, retired.pk}
    assert [candidates[i.pk].serving for i in serving] == [True, True]
    assert (candidates[retired.pk].serving, candidates[retired.pk].impressions, candidates[retired.pk].likes) == (False, 60, 5)

    # With fewer than two serving parents, nothing to breed: no history either.
    serving[1].status = Image.Status.POOL
    serving[1].save()
    assert [c.image_id for c in selectors.breeding_candidates("calm", "")] == [serving[0].pk]
