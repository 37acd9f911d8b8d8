"""How much a taste prediction weighs against a picture's own counts (ranking.prediction_strength):
as much as the fit measured for looks like those it was fitted on, a few impressions for a look
far off their spread (a bred picture's, typically), where the linear logit is an extrapolation."""

import numpy as np
import pytest
import scipy.special
from django.test import RequestFactory

from garden.looks import LOOK_FIELDS
from recommend import precomputed, ranking, selectors, services, serving, store, taste, training
from recommend.rankers import CountingRanker, RankRequest
from tests.factories import ImageFactory, VisitorFactory
from tests.recommend import test_taste
from tests.recommend.test_taste import KEY, look, play


def fitted_on_alike_looks() -> taste.Taste:
    """Fitted on pictures whose lightness varies and whose other fields barely do."""
    rng = np.random.default_rng(0)
    looks = np.full((200, len(LOOK_FIELDS)), 0.5) + rng.normal(0, 0.01, (200, len(LOOK_FIELDS)))
    looks[:, 0] = rng.uniform(0, 1, 200)
    image = rng.integers(0, 200, 4000)
    liked = (rng.random(4000) < 0.05 + 0.3 * looks[image, 0]).astype(float)
    fitted = taste.fit(
        cell_segment=np.zeros(4000, dtype=int),
        cell_image=image,
        impressions=np.ones(4000),
        likes=liked,
        looks=looks,
        fields=taste.key_fields([KEY] * 200),
        segments=["a"],
    )
    assert fitted is not None
    return fitted


def test_the_fit_is_sure_of_looks_like_its_own_and_unsure_far_off_them():
    fitted = fitted_on_alike_looks()
    usual, far = np.full(len(LOOK_FIELDS), 0.5), np.full(len(LOOK_FIELDS), 0.5)
    far[1] = 0.9  # 40 spreads off the fitted pictures' second field
    design = fitted.design(np.vstack([usual, far]), taste.key_fields([KEY, KEY]))
    variance = fitted.logit_variance(design, "a")
    assert variance is not None and variance[0] < 0.01 and variance[1] > 100 * variance[0]
    # Everyone's coefficients (a visitor without a segment): here only the priors split them from
    # the segment's, so even a usual look is less sure; a far one still far less.
    everyone = fitted.logit_variance(design, taste.SEGMENT_ALL)
    assert everyone is not None and everyone[1] > 10 * everyone[0]
    loaded = taste.Taste.loads(fitted.dumps())
    assert loaded is not None and np.allclose(loaded.logit_variance(design, "a"), fitted.logit_variance(design, "a"))


def test_a_model_saved_without_its_covariance_keeps_one_strength_for_every_picture():
    fitted = fitted_on_alike_looks()
    old = taste.Taste(
        fitted.segments, fitted.look_mean, fitted.look_scale, fitted.bias, fitted.weights, fitted.segment_bias, fitted.segment_weights
    )
    assert taste.Taste.loads(old.dumps()).logit_variance(np.zeros((1, len(fitted.weights))), "a") is None


def test_the_prediction_weighs_the_fits_strength_when_sure_and_a_few_impressions_when_not():
    rate = np.array([0.1, 0.1, 0.1, 0.1])
    strength = ranking.prediction_strength(rate, np.array([0.0, 0.01, 1.0, 100.0]), 500.0)
    assert strength[0] == pytest.approx(500.0)
    assert list(strength) == sorted(strength, reverse=True)
    assert strength[2] < 20 and strength[3] == 1.0
    # Never more than the fit measured, never less than one impression.
    assert ranking.prediction_strength(np.array([0.5]), np.array([0.0]), 0.2)[0] == 1.0


def test_counts_correct_a_far_off_prediction_in_a_few_dozen_impressions():
    """A picture predicted at 0.4 that visitors passed over 40 times: with the fit's strength of
    1,000 it still scores near 0.4; weighed as the extrapolation it is, near its counts."""
    counts = ranking.CandidateCounts.zeros(2)
    counts.n_seg[:] = [40.0, 40.0]
    counts.l_seg[:] = [0.0, 6.0]
    counts.n_key[:], counts.l_key[:] = 80.0, 6.0
    params = ranking.Params(segment_strength=1000.0)
    rate = np.array([0.4, 0.1])
    sure = ranking.score(counts, params, prior=ranking.TastePrior(rate))
    unsure = ranking.score(counts, params, prior=ranking.TastePrior(rate, strength=np.array([2.0, 1000.0])))
    assert sure[0] > sure[1]  # the prediction alone decides
    assert unsure[0] < unsure[1]  # the counts do


def test_an_unsure_unjudged_picture_scores_near_its_keys_rate_and_thompson_keeps_the_prediction():
    """Two unseen pictures of a key liked at 0.2 in the segment: one predicted at 0.5 because the
    model is unsure of its look (it weighs 2 of the fit's 20 impressions), one at 0.3 for sure. The
    exploit score puts the sure one first; Thompson's posterior still centres the unsure one on 0.5."""
    counts = ranking.CandidateCounts.zeros(2)
    counts.n_key[:], counts.l_key[:] = 1000.0, 200.0
    counts.n_keyseg[:], counts.l_keyseg[:] = 500.0, 100.0
    params = ranking.Params(segment_strength=20.0)
    strength = np.array([2.0, 20.0])
    prior = ranking.TastePrior(np.array([0.5, 0.3]), strength=strength, sureness=strength / 20.0)
    key_rate = np.array([0.2, 0.2])
    centred = prior.exploit_rate(key_rate)
    assert 0.2 < centred[0] < 0.25 and centred[1] == pytest.approx(0.3)
    scores = ranking.score(counts, params, prior=prior)
    assert scores[1] > scores[0]
    # Without sureness (a model saved before it), the prediction alone centres the score, as before.
    assert ranking.score(counts, params, prior=ranking.TastePrior(prior.rate, strength=strength))[0] > scores[1]
    _, _, mean, _ = ranking.thompson_posteriors(counts, params, prior)
    assert mean[0] == pytest.approx(0.5)


def test_the_lineage_head_start_is_kept_whole_however_unsure_the_look():
    """A bred child's head start from its parents is added to the centred logit, not diluted."""
    prior = ranking.TastePrior(scipy.special.expit(np.array([0.0, 1.0])), sureness=np.array([0.0, 0.0]), head_start=np.array([0.0, 1.0]))
    centred = scipy.special.logit(prior.exploit_rate(np.array([0.2, 0.2])))
    assert centred[1] - centred[0] == pytest.approx(1.0)
    assert centred[0] == pytest.approx(scipy.special.logit(0.2))


exploration_off = test_taste.exploration_off


@pytest.mark.django_db
def test_a_picture_whose_look_is_far_off_the_garden_is_judged_by_its_counts(exploration_off):
    """After a rebuild, the garden's alike pictures keep the fit's strength; a new picture whose
    look lies far off theirs, in the direction the fit says visitors like, is weighed as a few
    impressions: passed over a dozen times since, it goes behind the liked pictures, where the
    fit's one strength would keep it near its extrapolated prediction."""
    liked = [look(ImageFactory(emotion=KEY), spread=0.01, lightness=0.55) for _ in range(5)]
    plain = [look(ImageFactory(emotion=KEY), spread=0.01, lightness=0.45) for _ in range(5)]
    crowd = [VisitorFactory(age_group="adult", gender="Female").id for _ in range(10)]
    play(crowd, liked + plain, 300, likes=lambda image: image in liked)
    far = look(ImageFactory(emotion=KEY), spread=0.01, lightness=0.99, warmth=0.9)
    training.rebuild()
    model = store.load_model(store.latest_version_id())

    def view():
        candidates = serving.cache.candidates(search_key=KEY, request=RequestFactory().post("/garden"))
        taste_view = precomputed.taste_view(candidates, "adult|female", model)
        assert taste_view is not None and taste_view.prior.strength is not None
        return candidates, taste_view, {key: n for n, key in enumerate(candidates.keys)}

    candidates, before, position = view()
    assert before.prior.rate[position[far.key]] > before.prior.rate[position[liked[0].key]]  # extrapolated up
    assert before.prior.strength[position[far.key]] < 0.2 * before.prior.strength[position[liked[0].key]]
    for visitor in crowd[:12] + crowd[:3]:
        services.record_impression(visitor_id=visitor, impression=[far.key, plain[0].key, plain[1].key])
    candidates, _, _ = view()
    visitor = VisitorFactory(age_group="adult", gender="Female").id
    segment, history = selectors.visitor_context(visitor_id=visitor)
    answer = CountingRanker().rank(RankRequest(visitor, segment, candidates, history, rng=np.random.default_rng(0)))
    order = [candidates.keys[i] for i in answer.landscape]
    assert order.index(far.key) > max(order.index(image.key) for image in liked)
