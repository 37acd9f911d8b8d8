"""/garden from a precomputed order (recommend.precomputed) answers exactly what the full path
(CountingRanker.rank_full: counts, scores, posteriors and the sort per request) answers, on the same
candidates, counters, history and seeded exploration draws."""

import json
import uuid

import numpy as np
import pytest
from django.test import RequestFactory

from garden.models import Image
from recommend import precomputed, ranking, selectors, services, serving, training
from recommend.candidates import CandidateSet
from recommend.models import FavoriteStat, ImageStat, ModelVersion
from recommend.rankers import CountingRanker, RankRequest
from tests.factories import ImageFactory, VisitorFactory

SMALL = "calm/spring,cloudy,day"  # fewer than RECOMMEND_MIN_RESULTS images: its emotion's others follow
BIG = "happy"
SEGMENT = "adult|female"  # VisitorFactory's labels
SEEDS = range(16)


# --- the per-request steps on base orders, against ranking.arrange -----------------------------


def random_candidates(rng: np.random.Generator) -> tuple[CandidateSet, ranking.CandidateCounts]:
    """Up to 60 candidates over three search keys (the first is tier 0), with ties (unseen images)."""
    n = int(rng.integers(1, 60))
    key_index = np.sort(rng.integers(0, 3, n))
    counts = ranking.CandidateCounts.zeros(n)
    seen = rng.random(n) < 0.7
    counts.n_all = np.where(seen, rng.integers(0, 400, n), 0).astype(float)
    counts.l_all = np.floor(counts.n_all * rng.random(n) * 0.6)
    counts.n_seg, counts.l_seg = np.floor(counts.n_all / 3), np.floor(counts.l_all / 4)
    per_key_n = np.bincount(key_index, counts.n_all, minlength=3)
    per_key_l = np.bincount(key_index, counts.l_all, minlength=3)
    counts.n_key, counts.l_key = per_key_n[key_index], per_key_l[key_index]
    counts.n_keyseg, counts.l_keyseg = np.floor(counts.n_key / 3), np.floor(counts.l_key / 4)
    keys = [f"k{i}" for i in range(n)]
    candidates = CandidateSet(
        search_key="s0",
        ids=np.arange(n, dtype=np.int64) + 1,
        keys=keys,
        portrait=rng.random(n) < 0.4,
        tier=(key_index > 0).astype(np.int64),
        key_index=key_index,
        search_keys=["s0", "s1", "s2"],
        position={key: i for i, key in enumerate(keys)},
        render=lambda key, emotion: b"{}",
    )
    return candidates, counts


@pytest.mark.parametrize("seed", range(60))
def test_base_orders_and_kept_posteriors_arrange_as_the_full_sort(seed):
    rng = np.random.default_rng(seed)
    candidates, counts = random_candidates(rng)
    params = ranking.Params(image_strength=float(rng.choice([2.0, 10.0, 40.0])))
    scores = ranking.score(counts, params)
    sides = precomputed.sides(candidates, scores)
    thompson = precomputed.Thompson(counts, params, candidates.portrait)  # one entry, many requests
    n = len(candidates)
    for request in range(12):
        demoted = rng.random(n) < [0, 0.1, 0.5][request % 3]
        dropped = rng.random(n) < [0, 0.2][request % 2]
        shift = rng.normal(0, 1, n)  # a visit's taste: the ranker sorts anew, the odds are the visitor's
        visit_scores = ranking.score(counts, params, shift=shift)
        for mode in ("thompson", "slot", "none", "visit"):
            draws = 1000 * seed + request
            if mode == "thompson":
                full_challenge = ranking.thompson_challenger(counts, params, np.random.default_rng(draws))
                kept_challenge = thompson.challenger(np.random.default_rng(draws))
            elif mode == "visit":
                full_challenge = ranking.thompson_challenger(counts, params, np.random.default_rng(draws), shift=shift)
                kept_challenge = thompson.challenger(np.random.default_rng(draws), shift)
            elif mode == "slot":
                full_challenge = kept_challenge = ranking.least_shown_challenger(counts.n_all, 30)
            else:
                full_challenge = kept_challenge = None
            every, depth, limit = int(rng.choice([0, 3, 2])), int(rng.choice([12, 6, 100])), int(rng.choice([100, 5]))
            full = ranking.arrange(
                portrait=candidates.portrait,
                tier=candidates.tier,
                score=visit_scores if mode == "visit" else scores,
                demoted=demoted,
                keep=~dropped,
                explore_every=every,
                explore_depth=depth,
                challenge=full_challenge,
            )
            kept = precomputed.arrange(
                candidates=candidates,
                sides=precomputed.sides(candidates, visit_scores) if mode == "visit" else sides,
                demoted=demoted if demoted.any() else None,
                dropped=dropped if dropped.any() else None,
                explore_every=every,
                explore_depth=depth,
                challenge=kept_challenge,
                limit=limit,
            )
            assert [side.tolist() for side in kept] == [side[:limit].tolist() for side in full], (request, mode)


# --- the ranker on a database: rank (precomputed) against rank_full -----------------------------


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process would share (a file cache stands in for Redis): tokens, so entries are kept."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path / "cache")}}


@pytest.fixture
def per_process_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "precomputed"}}


@pytest.fixture
def garden(db):
    """Two search keys with counters for everyone and for SEGMENT: BIG (26 images: tier 0 only) and
    SMALL (3 images, so calm's other favorites follow as tier 1). Some images are unseen, so the
    exploration slots have challengers."""
    rng = np.random.default_rng(7)
    images = {
        BIG: [ImageFactory(emotion="happy", orientation="h" if i % 5 < 3 else "v") for i in range(26)],
        SMALL: [ImageFactory(emotion="calm", favorite="spring,cloudy,day", orientation="hv"[i % 2]) for i in range(3)],
        "calm/cat": [ImageFactory(emotion="calm", favorite="cat", orientation="hv"[i % 2]) for i in range(8)],
        "calm": [ImageFactory(emotion="calm", orientation="hv"[i % 3 == 0]) for i in range(6)],
    }
    for search_key, group in images.items():
        totals = {"*": [0, 0], SEGMENT: [0, 0]}
        for image in group:
            shown = int(rng.integers(0, 300)) if rng.random() < 0.75 else 0
            liked = int(shown * rng.random() * 0.6)
            for segment, (n, likes) in (("*", (shown, liked)), (SEGMENT, (shown // 3, int(liked * rng.random() / 3)))):
                ImageStat.objects.create(image=image, segment=segment, impressions=n, likes=likes)
                totals[segment][0] += n
                totals[segment][1] += likes
        for segment, (n, likes) in totals.items():
            FavoriteStat.objects.create(search_key=search_key, segment=segment, impressions=n, likes=likes)
    return images


def compare(search_key, visitor_id=None, *, age_group="", gender="", seeds=SEEDS):
    """Both paths on the same request, per seed; returns the answers (as keys) of the precomputed one."""
    http = RequestFactory().post("/garden")
    ranker, answers = CountingRanker(), []
    for seed in seeds:
        candidates = serving.cache.candidates(search_key=search_key, request=http)
        segment, history = selectors.visitor_context(visitor_id=visitor_id, age_group=age_group, gender=gender)
        full = ranker.rank_full(RankRequest(visitor_id, segment, candidates, history, rng=np.random.default_rng(seed)))
        kept = ranker.rank(RankRequest(visitor_id, segment, candidates, history, rng=np.random.default_rng(seed)))
        as_keys = [[candidates.keys[i] for i in side] for side in (kept.landscape, kept.portrait)]
        assert as_keys == [[candidates.keys[i] for i in side] for side in (full.landscape, full.portrait)], seed
        assert kept.label == full.label
        answers.append(as_keys)
    return answers


def kept_order(candidates, segment):
    return serving.cache.kept_order(candidates, segment)


def orders(answers):
    return {json.dumps(answer) for answer in answers}


@pytest.mark.parametrize("mode", ["thompson", "slot", "none"])
@pytest.mark.parametrize("segment", ["", SEGMENT])
def test_a_fresh_visitor(garden, shared_cache, settings, mode, segment):
    settings.RECOMMEND_EXPLORATION = mode
    age_group, gender = segment.split("|") if segment else ("", "")
    for search_key in (BIG, SMALL):
        answers = compare(search_key, str(uuid.uuid4()), age_group=age_group, gender=gender)
        if mode == "thompson" and search_key == BIG:  # challengers took slots (SMALL has no tier-0 one left by its third)
            settings.RECOMMEND_EXPLORATION = "none"
            assert orders(answers) - orders(compare(search_key, age_group=age_group, gender=gender, seeds=[0]))
            settings.RECOMMEND_EXPLORATION = mode
        elif mode != "thompson":  # the slot rule and no exploration answer the same every time
            assert len(orders(answers)) == 1
        candidates = serving.cache.candidates(search_key=search_key, request=RequestFactory().post("/garden"))
        assert kept_order(candidates, segment) is not None  # kept, and used by the requests after the first


def event(call, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):  # as in production: committed, tokens replaced
        call(**kwargs)


def test_likes_recent_screens_and_dislikes(garden, shared_cache, django_capture_on_commit_callbacks):
    visitor = VisitorFactory()  # SEGMENT
    big = [image.key for image in garden[BIG]]
    event(services.record_like, django_capture_on_commit_callbacks, visitor_id=visitor.id, item_key=big[3], impression=big[2:5])
    event(services.record_impression, django_capture_on_commit_callbacks, visitor_id=visitor.id, impression=big[5:8])
    event(services.record_dislike, django_capture_on_commit_callbacks, visitor_id=visitor.id, item_key=big[10])
    segment, history = selectors.visitor_context(visitor_id=visitor.id)
    candidates = serving.cache.candidates(search_key=BIG, request=RequestFactory().post("/garden"))
    assert segment == SEGMENT and selectors.has_key_history(candidates=candidates, history=history)  # recomputed scores
    for landscape, portrait in compare(BIG, visitor.id):
        shown = landscape + portrait
        assert big[10] not in shown  # disliked
        last = set(big[2:8])  # liked and just shown (both orientations): after every alternative
        for side in (landscape, portrait):
            flags = [key in last for key in side]
            assert flags == sorted(flags) and any(flags)


def test_dislikes_alone_keep_the_base_order(garden, shared_cache, django_capture_on_commit_callbacks):
    visitor_id = str(uuid.uuid4())
    big = [image.key for image in garden[BIG]]
    for key in big[:2]:  # undoing likes never given: explicit negatives, no impressions of the key
        event(services.record_dislike, django_capture_on_commit_callbacks, visitor_id=visitor_id, item_key=key)
    _, history = selectors.visitor_context(visitor_id=visitor_id)
    candidates = serving.cache.candidates(search_key=BIG, request=RequestFactory().post("/garden"))
    assert history.disliked == set(big[:2]) and not selectors.has_key_history(candidates=candidates, history=history)
    for landscape, portrait in compare(BIG, visitor_id):
        assert not set(big[:2]) & set(landscape + portrait)


def test_history_in_a_fallback_key(garden, shared_cache, django_capture_on_commit_callbacks):
    visitor_id = str(uuid.uuid4())
    cat = [image.key for image in garden["calm/cat"]]
    event(services.record_like, django_capture_on_commit_callbacks, visitor_id=visitor_id, item_key=cat[1], impression=cat[:3])
    _, history = selectors.visitor_context(visitor_id=visitor_id)
    candidates = serving.cache.candidates(search_key=SMALL, request=RequestFactory().post("/garden"))
    assert candidates.tier[candidates.position[cat[1]]] == 1  # the fallback tier
    assert selectors.has_key_history(candidates=candidates, history=history)
    assert not history.key_impressions.get(SMALL)
    compare(SMALL, visitor_id)
    compare(BIG, visitor_id)  # no history there: the base order


def test_a_new_like_builds_a_new_order(garden, shared_cache, settings, django_capture_on_commit_callbacks):
    settings.RECOMMEND_EXPLORATION = "none"
    http = RequestFactory().post("/garden")
    before = compare(BIG)[0]
    candidates = serving.cache.candidates(search_key=BIG, request=http)
    kept = kept_order(candidates, "")
    compare(BIG)
    assert kept_order(candidates, "") is kept  # unchanged counters: the same entry
    last = before[0][-1]  # the lowest-scored landscape image, liked by many
    for _ in range(30):
        event(services.record_like, django_capture_on_commit_callbacks, visitor_id=str(uuid.uuid4()), item_key=last, impression=[last])
    after = compare(BIG)[0]
    assert kept_order(candidates, "") is not kept
    assert after != before and after[0].index(last) < before[0].index(last)


def test_a_new_model_version_builds_a_new_order(garden, shared_cache, settings):
    settings.RECOMMEND_EXPLORATION = "none"
    compare(BIG, age_group="adult", gender="female")
    candidates = serving.cache.candidates(search_key=BIG, request=RequestFactory().post("/garden"))
    kept = kept_order(candidates, SEGMENT)
    params = ranking.Params(key_strength=1.0, image_strength=1000.0, segment_strength=1.0, favorite_strength=1.0)
    version = ModelVersion.objects.create(params=params.as_dict())
    compare(BIG, age_group="adult", gender="female")
    assert kept_order(candidates, SEGMENT) is not kept and kept_order(candidates, SEGMENT).model.version == version.pk
    assert kept_order(candidates, SEGMENT).counts is kept.counts  # the counters did not change, the model did


def test_segments_share_the_challengers_entry(garden, shared_cache, django_capture_on_commit_callbacks):
    """Thompson weighs everyone's counters only: one entry (and its odds) for every segment, built
    again under a new token or model; each segment's answers still those of the full path."""
    compare(BIG)
    compare(BIG, age_group="adult", gender="female")
    candidates = serving.cache.candidates(search_key=BIG, request=RequestFactory().post("/garden"))
    shared = kept_order(candidates, "").thompson
    assert (
        kept_order(candidates, SEGMENT).thompson is shared
        and kept_order(candidates, SEGMENT).counts is not kept_order(candidates, "").counts
    )
    big = [image.key for image in garden[BIG]]
    event(services.record_like, django_capture_on_commit_callbacks, visitor_id=str(uuid.uuid4()), item_key=big[0], impression=big[:3])
    compare(BIG, age_group="adult", gender="female")
    renewed = kept_order(candidates, SEGMENT).thompson
    assert renewed is not shared and renewed.alpha.sum() > shared.alpha.sum()  # the like is in everyone's counters
    compare(BIG)
    assert kept_order(candidates, "").thompson is renewed
    ModelVersion.objects.create(params=ranking.Params(image_strength=50.0).as_dict())
    compare(BIG)
    assert kept_order(candidates, "").thompson is not renewed


def test_an_empty_garden(garden, shared_cache):
    assert compare("sad/winter,snowy,night", str(uuid.uuid4())) == [[[], []]] * len(SEEDS)


def test_a_per_process_cache_keeps_the_orders_and_answers_the_same(garden, per_process_cache, settings):
    for mode in ("thompson", "none"):
        settings.RECOMMEND_EXPLORATION = mode
        compare(BIG, str(uuid.uuid4()))
        compare(SMALL, age_group="adult", gender="female")
    for search_key, segment in ((BIG, ""), (SMALL, SEGMENT)):  # kept: the tokens are the database's, not the cache's
        kept = serving.cache.candidates(search_key=search_key, request=RequestFactory().post("/garden"))
        assert kept_order(kept, segment) is not None


def test_garden_serves_the_kept_order(garden, shared_cache, client, settings):
    settings.RECOMMEND_EXPLORATION = "none"
    body = json.dumps({"id": str(uuid.uuid4()), "emotion": BIG})
    first = client.post("/garden", body, content_type="application/json")
    second = client.post("/garden", body, content_type="application/json")
    assert first.status_code == second.status_code == 200 and first.content == second.content
    candidates = serving.cache.candidates(search_key=BIG, request=RequestFactory().post("/garden"))
    expected = [candidates.keys[i] for i in kept_order(candidates, "").sides[0]]
    served = [entry["url"].split("/media/", 1)[1] for entry in first.json()["landscape"]]
    assert served == expected
    assert Image.objects.filter(key__in=served).count() == len(served)


def test_a_visitor_with_an_als_term_takes_the_full_path(garden, shared_cache, settings, django_capture_on_commit_callbacks):
    settings.RECOMMEND_ALS_ENABLED, settings.RECOMMEND_ALS_MIN_LIKES = True, 1
    big = [image.key for image in garden[BIG]]
    visitors = [str(uuid.uuid4()) for _ in range(6)]
    for n, visitor_id in enumerate(visitors):
        for key in (big[n], big[n + 1], big[(n * 5) % len(big)]):
            event(services.record_like, django_capture_on_commit_callbacks, visitor_id=visitor_id, item_key=key, impression=[key])
    with django_capture_on_commit_callbacks(execute=True):
        training.rebuild(with_als=True)
    assert serving.cache.model().label.endswith("+als")
    compare(BIG, visitors[0])  # liked enough: ALS term, the full path
    compare(BIG, str(uuid.uuid4()))  # no likes: the kept order
