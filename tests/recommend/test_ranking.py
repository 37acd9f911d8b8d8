"""The counting model's pure core: smoothing, ordering rules, batch counts."""

import numpy as np

from recommend import ranking


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


def item(i, orientation="h", tier=0, score=0.0, impressions=100.0, demoted=False):
    return ranking.Item(id=i, orientation=orientation, tier=tier, score=score, impressions=impressions, demoted=demoted)


def ids(items):
    return [i.id for i in items]


def test_arrange_orders_by_tier_then_score_and_puts_repeats_last():
    items = [item(1, score=0.1), item(2, score=0.9, demoted=True), item(3, score=0.5), item(4, tier=1, score=5.0)]
    assert ids(ranking.arrange(items, explore_every=0, fresh_impressions=0)) == [3, 1, 4, 2]


def test_arrange_keeps_input_order_on_ties_and_gives_fresh_images_a_slot():
    items = [item(i, score=1.0 - i / 10) for i in range(6)] + [item(9, score=-5.0, impressions=0)]
    out = ids(ranking.arrange(items, explore_every=3, fresh_impressions=30))
    assert out[2] == 9  # third slot of the first slate
    assert out[:2] == [0, 1] and sorted(out) == sorted(ids(items))
    # Orientation lists are arranged separately.
    mixed = [item(1, "v"), item(2, "h"), item(3, "v")]
    assert ids(ranking.arrange(mixed, explore_every=0, fresh_impressions=0)) == [2, 1, 3]


def test_count_feedback_and_dislikes_undo_likes():
    # visitor 0 (segment 1) likes image 0 among [0, 1], then undoes it; visitor 1 (unknown) likes image 1.
    events = ranking.Events(
        visitor=np.array([0, 0, 1]),
        kind=np.array([ranking.CLICK, ranking.DISLIKE, ranking.CLICK]),
        image=np.array([0, 0, 1]),
        imp_event=np.array([0, 0, 2, 2]),
        imp_image=np.array([0, 1, 0, 1]),
    )
    table = ranking.count_feedback(
        events, n_images=2, image_key=np.array([0, 0]), n_keys=1, visitor_segment=np.array([1, 0]), segments=["*", "adult|male"]
    )
    assert table.img_n[0].tolist() == [2, 2] and table.img_n[1].tolist() == [1, 1]
    assert table.img_l[0].tolist() == [0, 1] and table.img_l[1].tolist() == [0, 0]
    assert table.img_d[0].tolist() == [1, 0]
    assert table.key_n[0, 0] == 4 and table.key_l[0, 0] == 1


def test_segment_of():
    assert ranking.segment_of("adult", "Female") == "adult|female"
    assert ranking.segment_of("", "") == ""
