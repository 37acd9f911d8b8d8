"""The taste model (recommend.taste) and what it does to /garden's order: a like teaches about
pictures that look alike, a new picture starts from what its look predicts, a visit's like moves
the visitor's next screens, and forgetting a visitor leaves nothing of them in the next model."""

import itertools
import random

import numpy as np
import pytest
from django.test import RequestFactory

from config import caches
from garden.looks import LOOK_FIELDS
from garden.models import ImageLook
from recommend import retention, selectors, services, serving, store, taste, training
from recommend.rankers import CountingRanker, RankRequest
from tests.factories import ImageFactory, VisitorFactory

KEY = "happy"


_drawn = itertools.count()  # look()'s noise draws: restarted for each test (below), not the image's id


@pytest.fixture(autouse=True)
def same_noise_every_run():
    """Every run of a test draws the same noise, whatever ids the database hands out (PostgreSQL's
    go on from test to test)."""
    global _drawn
    _drawn = itertools.count()


def look(image, spread: float = 0.05, **values):
    """A look for ``image``: the given fields, the rest a little noise of ``spread`` (as real
    pictures vary)."""
    rng = np.random.default_rng(next(_drawn))
    fields = {name: float(rng.normal(0.5, spread)) for name in LOOK_FIELDS} | values
    ImageLook.objects.update_or_create(image=image, defaults=fields)  # over the one its painting got
    return image


def picture(**values):
    return look(ImageFactory(emotion=KEY), **values)


def ranked(visitor_id):
    """/garden's landscape order (image keys) for ``visitor_id``, exploration off (deterministic)."""
    candidates = serving.cache.candidates(search_key=KEY, request=RequestFactory().post("/garden"))
    segment, history = selectors.visitor_context(visitor_id=visitor_id)
    answer = CountingRanker().rank(RankRequest(visitor_id, segment, candidates, history, rng=np.random.default_rng(0)))
    return [candidates.keys[i] for i in answer.landscape]


def play(visitors, pictures, screens, likes, seed=3):
    """Screens of three of ``pictures``: the visitor likes one that ``likes(image)`` accepts (the
    first on screen), or passes."""
    rng = random.Random(seed)
    for _ in range(screens):
        visitor = rng.choice(visitors)
        shown = rng.sample(pictures, 3)
        wanted = [image for image in shown if likes(image) and rng.random() < 0.8]
        keys = [image.key for image in shown]
        if wanted:
            services.record_like(visitor_id=visitor, item_key=wanted[0].key, impression=keys)
        else:
            services.record_impression(visitor_id=visitor, impression=keys)


def bright_liked(visitors: int, screens: int):
    """Six bright and six dark pictures; ``visitors`` adults (women) who like the bright ones."""
    bright = [picture(lightness=0.9) for _ in range(6)]
    dark = [picture(lightness=0.1) for _ in range(6)]
    crowd = [VisitorFactory(age_group="adult", gender="Female").id for _ in range(visitors)]
    play(crowd, bright + dark, screens, likes=lambda image: image in bright)
    return bright, dark


@pytest.fixture
def exploration_off(settings):
    settings.RECOMMEND_EXPLORATION = "none"
    caches.reset_all(rows_only=True)
    yield
    caches.reset_all(rows_only=True)


def test_the_fit_recovers_each_segments_taste():
    rng = np.random.default_rng(0)
    looks = rng.normal(0, 1, (300, len(LOOK_FIELDS)))
    fields = taste.key_fields([KEY] * 300)
    segment = rng.integers(0, 2, 6000)
    image = rng.integers(0, 300, 6000)
    # Segment 0 likes light pictures, segment 1 dark ones.
    logit = -1.5 + np.where(segment == 0, 1.0, -1.0) * looks[image, 0]
    liked = (rng.random(6000) < 1 / (1 + np.exp(-logit))).astype(float)
    fitted = taste.fit(
        cell_segment=segment, cell_image=image, impressions=np.ones(6000), likes=liked, looks=looks, fields=fields, segments=["a", "b"]
    )
    assert fitted is not None
    light, dark = fitted.design(np.array([[2.0] + [0.0] * 7, [-2.0] + [0.0] * 7]), taste.key_fields([KEY, KEY]))
    assert fitted.logits(light[None], "a")[0] > fitted.logits(dark[None], "a")[0] + 1
    assert fitted.logits(dark[None], "b")[0] > fitted.logits(light[None], "b")[0] + 1
    loaded = taste.Taste.loads(fitted.dumps())
    assert loaded is not None and loaded.segments == ("a", "b")
    assert np.array_equal(loaded.segment_weights, fitted.segment_weights) and np.array_equal(loaded.weights, fitted.weights)


def test_one_like_moves_the_visitors_odds_by_a_few_times_not_by_orders_of_magnitude():
    """A visitor differs from their segment less than segments differ: under the visit prior, the
    liked picture of a screen of three gains on a passed one a few times its odds, not the ~25
    times the precision 1 gave (which made the next screen worse than no shift on the hall bench)."""
    rng = np.random.default_rng(0)
    columns = len(LOOK_FIELDS) + len(taste.WORDS)
    fitted = taste.Taste(
        ("a",), np.zeros(len(LOOK_FIELDS)), np.ones(len(LOOK_FIELDS)), -1.5, np.zeros(columns), np.zeros(1), np.zeros((1, columns))
    )
    gains = []
    for _ in range(200):
        design = fitted.design(rng.normal(0, 1, (3, len(LOOK_FIELDS))), taste.key_fields([KEY] * 3))
        shift = design @ taste.visit_shift(fitted, design, fitted.logits(design, "a"), np.array([1.0, 0.0, 0.0]))
        gains.append(shift[0] - shift[1:].mean())
    assert 1.0 < np.mean(gains) < 2.0  # log-odds: between e (2.7x) and e² (7.4x)


@pytest.mark.django_db
def test_a_new_picture_starts_from_what_its_look_predicts(exploration_off):
    _bright, dark = bright_liked(8, 240)
    training.rebuild()
    new_dark, new_bright = picture(lightness=0.12), picture(lightness=0.88)  # nobody has seen them
    model = store.load_model(store.latest_version_id())
    assert model.taste is not None
    design = model.taste.design(np.array([[0.88, *[0.5] * 7], [0.12, *[0.5] * 7]]), taste.key_fields([KEY, KEY]))
    assert model.taste.logits(design[:1], "adult|female")[0] > model.taste.logits(design[1:], "adult|female")[0]
    order = ranked(VisitorFactory(age_group="adult", gender="Female").id)
    assert order.index(new_bright.key) < order.index(new_dark.key)
    # Unseen, it still goes before every dark picture the segment has passed over.
    assert order.index(new_bright.key) < min(order.index(image.key) for image in dark)


@pytest.mark.django_db
def test_a_like_moves_pictures_that_look_alike_up_for_the_same_visitor(exploration_off):
    # Only warmth sets them apart. Looks are standardised field by field, so noise of 0.05 in the
    # other fields would weigh as much as warmth's 0.8, and a visit of three pictures would learn
    # their noise as much as their warmth (with it, this failed for 4 of 10 noise draws).
    warm = [picture(spread=0.0, warmth=0.4) for _ in range(8)]
    cold = [picture(spread=0.0, warmth=-0.4) for _ in range(8)]
    crowd = [VisitorFactory(age_group="adult", gender="Female").id for _ in range(8)]
    play(crowd, warm + cold, 240, likes=lambda image: True)  # the segment likes both alike
    training.rebuild()
    liker, passer = (VisitorFactory(age_group="adult", gender="Female").id for _ in range(2))
    screen = [warm[0].key, cold[0].key, cold[1].key]
    services.record_like(visitor_id=liker, item_key=warm[0].key, impression=screen)
    services.record_impression(visitor_id=passer, impression=screen)  # the same segment, no like

    def warm_places(order):
        return [order.index(image.key) for image in warm[1:]]

    # The liker's next screen brings the other warm pictures forward, the passer's does not.
    assert np.mean(warm_places(ranked(liker))) < np.mean(warm_places(ranked(passer))) - 1
    assert ranked(liker)[0] in {image.key for image in warm}


@pytest.mark.django_db
def test_after_forget_visitor_the_next_model_holds_nothing_of_them(exploration_off):
    bright, dark = bright_liked(6, 150)
    before = store.load_model(training.rebuild().pk)
    elder = VisitorFactory(age_group="elder", gender="Male").id  # the only one of their segment
    play([elder], bright + dark, 60, likes=lambda image: image in dark, seed=5)
    learnt = store.load_model(training.rebuild().pk)
    assert "elder|male" in learnt.taste.segments
    retention.forget_visitor(visitor_id=elder)
    after = store.load_model(training.rebuild().pk)
    assert after.taste.segments == before.taste.segments
    assert np.array_equal(after.taste.weights, before.taste.weights)
    assert np.array_equal(after.taste.segment_weights, before.taste.segment_weights)
    assert after.params == before.params
