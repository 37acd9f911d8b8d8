"""The retirement rule on constructed feedback: exact Beta probabilities, the key's minimum kept."""

import pytest
from scipy.stats import beta

from garden.models import Image
from gardener import services
from gardener.models import GardenerAction
from gardener.planning import make_plan
from gardener.retirement import Counts, judge, key_median, probability_below, should_retire
from tests.gardener.conftest import serving_with_stats

pytestmark = pytest.mark.django_db


def test_the_probability_is_the_exact_beta_cdf():
    counts = Counts.of(impressions=100, likes=12, dislikes=2)  # an undone like does not count
    assert counts.likes == 10
    assert probability_below(counts, 0.2) == pytest.approx(beta.cdf(0.2, 11, 91), abs=1e-12)
    assert key_median([Counts(100, 30)] * 2, min_impressions=50) is None  # too few judged peers
    assert key_median([Counts(100, 30), Counts(100, 40), Counts(10, 0), Counts(100, 20)], min_impressions=50) == pytest.approx(31 / 102)


def test_a_segment_alone_retires_only_when_every_judged_segment_agrees():
    bad = judge(Counts(100, 5), segment="child|f", median=0.3, min_impressions=50, threshold=0.95)
    good = judge(Counts(100, 30), segment="adult|m", median=0.3, min_impressions=50, threshold=0.95)
    assert bad.fails and not good.fails
    assert not should_retire({"child|f": bad, "adult|m": good})
    assert should_retire({"child|f": bad})
    assert should_retire({"*": bad, "adult|m": good})


def test_a_clearly_bad_image_is_retired_and_a_borderline_one_kept(policy):
    peers = serving_with_stats([30, 31, 29, 30, 32])
    bad, borderline = serving_with_stats([5, 24])
    median = 31 / 102
    p_borderline = beta.cdf(median, 25, 77)
    assert 0.5 < p_borderline < 0.95  # worse than its peers, but not surely so

    plan = make_plan()
    calm = next(k for k in plan.keys if k.search_key == "calm")
    assert [r.image_id for r in calm.retire] == [bad.pk]
    assert calm.retire[0].verdicts["*"].probability == pytest.approx(beta.cdf(median, 6, 96))

    services.tend()

    bad.refresh_from_db()
    assert bad.status == Image.Status.POOL and bad.key.startswith("imgPool/calm/")
    assert all(Image.objects.get(pk=i.pk).status == Image.Status.SERVING for i in [*peers, borderline])
    action = GardenerAction.objects.get(kind=GardenerAction.Kind.RETIRED)
    assert (action.image, action.search_key, action.reason) == (bad, "calm", "retired by the gardener")
    assert action.details["verdicts"][0]["segment"] == "*" and action.details["verdicts"][0]["p_below_median"] > 0.99


def test_too_few_impressions_are_not_judged(policy):
    serving_with_stats([30, 31, 29])
    unseen = serving_with_stats([0], impressions=49)[0]
    services.tend()
    assert Image.objects.get(pk=unseen.pk).status == Image.Status.SERVING
    assert not GardenerAction.objects.filter(kind=GardenerAction.Kind.RETIRED).exists()


def test_retirement_never_takes_a_key_below_its_minimum(policy):
    policy.minimum_per_key = 5
    policy.save()
    serving_with_stats([30, 31, 29, 30])
    worst, bad = serving_with_stats([1, 6])

    plan = make_plan()
    calm = next(k for k in plan.keys if k.search_key == "calm")
    assert ([r.image_id for r in calm.retire], calm.kept_for_minimum) == ([worst.pk], 1)

    services.tend()
    assert Image.objects.filter(status=Image.Status.SERVING, emotion="calm").count() == 5
    assert Image.objects.get(pk=bad.pk).status == Image.Status.SERVING


def test_a_segment_with_its_own_data_retires_an_image_it_passes_over(policy):
    # Everyone: too few impressions to judge; the one segment that saw it often passes over it.
    policy.minimum_per_key = 2
    policy.save()
    for n in (30, 31, 29):
        serving_with_stats([n], segment="adult|f")
    disliked = serving_with_stats([2], segment="adult|f")[0]
    services.tend()
    assert Image.objects.get(pk=disliked.pk).status == Image.Status.POOL
    verdicts = GardenerAction.objects.get(kind=GardenerAction.Kind.RETIRED).details["verdicts"]
    assert [v["segment"] for v in verdicts] == ["adult|f"]


def pair(likes_landscape: int, likes_portrait: int | None = None, *, index: int, impressions: int = 100):
    """A bulk pair (landscape + portrait twin of one index) of serving calm images; the portrait
    has stats only when ``likes_portrait`` is given (a landscape kiosk never shows it)."""
    from garden import keys
    from garden.services import create_image
    from recommend.models import ImageStat
    from tests.factories import jpeg_bytes

    made = []
    for orientation, likes in ((keys.LANDSCAPE, likes_landscape), (keys.PORTRAIT, likes_portrait)):
        key = keys.build_key(
            prefix="emotions", emotion="calm", favorite="", timestr="20261123-120000-ab12cd", index=index, orientation=orientation
        )
        image = create_image(key=key, content=jpeg_bytes(16, 10), width=16, height=10, generator="procedural")
        if likes is not None:
            ImageStat.objects.create(image=image, segment="*", impressions=impressions, likes=likes)
        made.append(image)
    return made


def test_a_retired_picture_takes_its_unjudged_twin_and_keeps_one_judged_well(policy):
    peers = [pair(30, index=n) for n in range(3)]
    bad_l, bad_p = pair(3, index=10)  # the portrait was never shown: it goes with its landscape
    other_l, liked_p = pair(4, 40, index=11)  # portrait kiosks like this picture: its portrait stays

    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert {(r.image_id, r.twin_id) for r in calm.retire} == {(bad_l.pk, bad_p.pk), (other_l.pk, None)}
    assert calm.retiring == 3 and "retire 3" in calm.line()

    services.tend()
    status = dict(Image.objects.values_list("id", "status"))
    assert [status[i.pk] for i in (bad_l, bad_p, other_l)] == [Image.Status.POOL] * 3
    assert status[liked_p.pk] == Image.Status.SERVING and all(status[i.pk] == Image.Status.SERVING for p in peers for i in p)
    twin_entry = GardenerAction.objects.get(image=bad_p)
    assert twin_entry.details["twin_of"] == bad_l.pk and twin_entry.reason == "retired by the gardener"
    services.undo(action=twin_entry)  # each of the pair is undone on its own
    assert Image.objects.get(pk=bad_p.pk).status == Image.Status.SERVING


def test_twins_count_against_the_minimum(policy):
    policy.minimum_per_key = 7
    policy.save()
    for n in range(3):
        pair(30, index=n)
    pair(2, index=10)  # 8 serving: retiring the pair would leave 6, below the minimum of 7
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.retire == [] and calm.kept_for_minimum == 1
