"""The counting model's pure core: smoothing, ordering rules, batch counts."""

import numpy as np

from garden.visitors import segment_of
from recommend import feedback, ranking


def counts(size, **values):
    c = ranking.CandidateCounts.zeros(size)
    for name, value in values.items():
        setattr(c, name, np.array(value, dtype=float))
    return c


def test_no_feedback_scores_are_equal():
    s = ranking.score(ranking.CandidateCounts.zeros(4), ranking.Params())
    assert np.allclose(s, s[0])


def test_like_rate_per_impression_is_shrunk_toward_the_key_rate():
    # 1 like of 1 impression must not beat 40 of 60: the prior holds the sparse one back.
    s = ranking.score(counts(3, n_all=[1, 60, 60], l_all=[1, 40, 5], n_key=[121] * 3, l_key=[46] * 3), ranking.Params())
    assert s[1] > s[0] > s[2]


def test_segment_and_visitor_affinity_reorder():
    params = ranking.Params()
    # Everyone likes image 0 more, but this visitor's segment prefers image 1.
    base = dict(n_all=[100, 100], l_all=[50, 30], n_key=[200, 200], l_key=[80, 80])
    plain = ranking.score(counts(2, **base), params)
    segment = ranking.score(counts(2, **base, n_seg=[40, 40], l_seg=[5, 30]), params)
    assert plain[0] > plain[1] and segment[1] > segment[0]
    # The visitor's own history for a search key lifts that key's images (fallback lists mix keys).
    lifted = ranking.score(counts(2, n_key=[50, 50], l_key=[15, 15], n_vis=[6, 0], l_vis=[5, 0]), params)
    assert lifted[0] > lifted[1]


def arranged(items, **options):
    """ranking.arrange over (id, orientation, tier, score, impressions, demoted) tuples → ids in order."""
    ids = np.array([i[0] for i in items])
    landscape, portrait = ranking.arrange(
        portrait=np.array([i[1] == "v" for i in items]),
        tier=np.array([i[2] for i in items]),
        score=np.array([i[3] for i in items], dtype=float),
        demoted=np.array([i[5] for i in items]),
        **options,
    )
    return ids[landscape].tolist() + ids[portrait].tolist()


def item(i, orientation="h", tier=0, score=0.0, impressions=100.0, demoted=False):
    return (i, orientation, tier, score, impressions, demoted)


def test_arrange_orders_by_tier_then_score_and_puts_repeats_last():
    items = [item(1, score=0.1), item(2, score=0.9, demoted=True), item(3, score=0.5), item(4, tier=1, score=5.0)]
    assert arranged(items) == [3, 1, 4, 2]


def test_arrange_keeps_input_order_on_ties_and_gives_fresh_images_a_slot():
    items = [item(i, score=1.0 - i / 10) for i in range(6)] + [item(9, score=-5.0, impressions=0)]
    impressions = np.array([i[4] for i in items], dtype=float)
    out = arranged(items, explore_every=3, challenge=ranking.least_shown_challenger(impressions, 30))  # the older rule
    assert out[2] == 9  # third slot of the first slate
    assert out[:2] == [0, 1] and sorted(out) == sorted(i[0] for i in items)
    # Exploration stays within the first explore_depth images; deeper, score order.
    many = [item(i, score=-i) for i in range(9)] + [item(20 + i, score=-50 - i, impressions=0) for i in range(4)]
    impressions = np.array([i[4] for i in many], dtype=float)
    out = arranged(many, explore_every=3, explore_depth=6, challenge=ranking.least_shown_challenger(impressions, 30))
    assert out == [0, 1, 20, 2, 3, 21, 4, 5, 6, 7, 8, 22, 23]
    # Orientation lists are arranged separately.
    mixed = [item(1, "v"), item(2, "h"), item(3, "v")]
    assert arranged(mixed) == [2, 1, 3]
    # Dropped candidates (dislikes) are not returned.
    assert arranged(mixed, keep=np.array([True, True, False])) == [2, 1]


def test_thompson_challengers_take_the_slot_as_often_as_they_may_be_better():
    params = ranking.Params()
    rng = np.random.default_rng(0)
    # 0: the incumbent, 400 likes of 1000; 1: never shown; 2: 20 likes of 1000 (clearly worse).
    known = counts(3, n_all=[1000, 0, 1000], l_all=[400, 0, 20], n_key=[5000] * 3, l_key=[1000] * 3)
    challenge = ranking.thompson_challenger(known, params, rng)
    picks = [challenge(np.array([1, 2]), 0) for _ in range(4000)]
    share_new = picks.count(1) / len(picks)
    assert 0.005 < share_new < 0.2  # an unseen image (prior near the key's 20 %) sometimes gets the slot
    assert 2 not in picks  # one many have seen far below the incumbent never does
    # With more evidence for the newcomer (as good as the incumbent), it challenges about half the time.
    even = counts(2, n_all=[1000, 1000], l_all=[400, 400], n_key=[5000] * 2, l_key=[1000] * 2)
    challenge = ranking.thompson_challenger(even, params, rng)
    share = sum(challenge(np.array([1]), 0) == 1 for _ in range(4000)) / 4000
    assert 0.4 < share < 0.6


def test_a_visits_taste_moves_the_challengers_odds():
    params = ranking.Params()
    rng = np.random.default_rng(0)
    # 0: the incumbent; 1: never shown, a challenger now and then (as above).
    known = counts(2, n_all=[1000, 0], l_all=[400, 0], n_key=[5000] * 2, l_key=[1000] * 2)
    alpha, beta, mean, _ = ranking.thompson_posteriors(known, params)
    moved = ranking.visit_posteriors(alpha, beta, np.array([0.0, np.log(2)]))
    assert np.allclose(moved[2], mean * [1, 2]) and np.allclose(moved[0] + moved[1], alpha + beta)  # the same pseudo-count

    def share(shift):
        challenge = ranking.thompson_challenger(known, params, rng, shift=None if shift is None else np.array([0.0, shift]))
        return sum(challenge(np.array([1]), 0) == 1 for _ in range(4000)) / 4000

    # A visit that liked its look makes it the likelier better one for this visitor; one that passed it, never.
    assert share(1.0) > 2 * share(None) > 0
    assert share(-1.0) == 0


def test_exploration_stops_once_it_no_longer_pays():
    params = ranking.Params()
    rng = np.random.default_rng(0)
    # 390 likes of 1000 against the incumbent's 400: P(better) is about a quarter, but what showing it
    # may still reveal, over the visitors to come, is worth less than the 1 % the slot would lose.
    close = counts(2, n_all=[1000, 1000], l_all=[400, 390], n_key=[5000] * 2, l_key=[1000] * 2)
    challenge = ranking.thompson_challenger(close, params, rng)
    assert all(challenge(np.array([1]), 0) is None for _ in range(500))
    # The same doubt early on (a tenth of the evidence, a tenth of the visitors so far) is still worth a look.
    early = counts(2, n_all=[100, 100], l_all=[40, 39], n_key=[500] * 2, l_key=[100] * 2)
    challenge = ranking.thompson_challenger(early, params, rng)
    assert any(challenge(np.array([1]), 0) == 1 for _ in range(500))


def test_count_feedback_and_dislikes_undo_likes():
    # visitor 0 (segment 1) likes image 0 among [0, 1], then undoes it; visitor 1 (unknown) likes image 1.
    events = feedback.Events(
        visitor=np.array([0, 0, 1]),
        kind=np.array([ranking.CLICK, ranking.DISLIKE, ranking.CLICK]),
        image=np.array([0, 0, 1]),
        imp_event=np.array([0, 0, 2, 2]),
        imp_image=np.array([0, 1, 0, 1]),
    )
    table = feedback.count_feedback(
        events, n_images=2, image_key=np.array([0, 0]), n_keys=1, visitor_segment=np.array([1, 0]), segments=["*", "adult|male"]
    )
    assert table.img_n[0].tolist() == [2, 2] and table.img_n[1].tolist() == [1, 1]
    assert table.img_l[0].tolist() == [0, 1] and table.img_l[1].tolist() == [0, 0]
    assert table.img_d[0].tolist() == [1, 0]
    assert table.key_n[0, 0] == 4 and table.key_l[0, 0] == 1


def test_segment_of():
    assert segment_of("adult", "Female") == "adult|female"
    assert segment_of("", "") == ""
    assert segment_of(" Teenager\t", "\nMALE ") == "teenager|male"


def slots_by_scanning(ordered, tier, demoted, every, depth, challenge):
    """The exploration slots as first written (the specification): each slot scans the whole queue
    for the first tier's candidates. ``ranking.with_exploration_slots`` must give the same lists."""
    queue = ordered[~demoted[ordered]].tolist()
    if not queue:
        return ordered
    top, result = tier[queue[0]], []
    while queue and len(result) < depth:
        pick = queue.pop(0)
        if len(result) % every == every - 1:
            remaining = np.array([i for i in queue if tier[i] == top], dtype=np.int64)
            challenger = challenge(remaining, pick) if len(remaining) else None
            if challenger is not None:
                queue.remove(challenger)
                queue.insert(0, pick)
                pick = challenger
        result.append(pick)
    return np.array(result + queue + ordered[demoted[ordered]].tolist(), dtype=np.int64)


def test_exploration_slots_match_the_scan_of_the_whole_queue():
    """Random tiers, demotions and challengers (the same draws for both): same order, same calls."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        tier = rng.integers(0, 2, n)
        demoted = rng.random(n) < rng.random()
        score = rng.random(n)
        index = np.arange(n)
        ordered = index[np.lexsort((index, -score, tier, demoted))]  # as ranking.arrange sorts
        every, depth, seed = int(rng.integers(1, 4)), int(rng.integers(0, 15)), int(rng.integers(1 << 30))
        scanned, sliced = [], []

        def challenger(calls, draws):
            def challenge(remaining, incumbent):
                calls.append((remaining.tolist(), incumbent))
                pick = int(draws.integers(0, len(remaining) + 1))  # len(remaining): keep the incumbent
                return int(remaining[pick]) if pick < len(remaining) else None

            return challenge

        expected = slots_by_scanning(ordered, tier, demoted, every, depth, challenger(scanned, np.random.default_rng(seed)))
        got = ranking.with_exploration_slots(ordered, tier, demoted, every, depth, challenger(sliced, np.random.default_rng(seed)))
        assert got.tolist() == expected.tolist()
        assert sliced == scanned
