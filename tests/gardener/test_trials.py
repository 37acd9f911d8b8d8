"""Trials (``trial_pairs``): bred pairs above a key's target while visitors judge them, and the
key's weakest judged pictures retired to make room, so children can displace their parents."""

from datetime import timedelta

import pytest
from django.utils import timezone

from garden.models import Image
from gardener import selectors, services, trials
from gardener.models import EmotionPolicy, GardenerAction
from gardener.planning import SURPLUS, make_plan
from gardener.trials import TRIAL_PATIENCE
from recommend.models import ImageStat, Recommendation
from tests.factories import ImageFactory
from tests.gardener.conftest import serving_with_stats

pytestmark = pytest.mark.django_db
Kind = GardenerAction.Kind


def calm_with_trials(policy, trial_pairs: int = 1, target: int = 4):
    policy.enabled = False
    policy.daily_image_budget, policy.bred_share, policy.trial_pairs, policy.retire_min_impressions = 100, 1.0, trial_pairs, 50
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=target, minimum_per_key=1)


def open_trials() -> dict[tuple[str, str], int]:
    """Per key, the trials holding a place (the plan's count, gardener.trials.open_pairs)."""
    from gardener.planning import _ended_trials

    policies = selectors.key_policies()
    unjudged = selectors.trials(policies)
    return trials.open_pairs(unjudged, _ended_trials(unjudged, policies, selectors.serving_stats(), None))


def calm_plan():
    return next(k for k in make_plan().keys if k.search_key == "calm")


def bred_picture(impressions: int) -> Image:
    lineage = {"parents": [1], "operator": "mutate", "generation": 1}
    image = ImageFactory(emotion="calm", parameters={"lineage": lineage})
    ImageStat.objects.create(image=image, segment="*", impressions=impressions, likes=impressions // 5)
    return image


def test_without_trials_a_key_above_its_target_keeps_its_pictures(one_key, policy):
    calm_with_trials(policy, trial_pairs=0)
    serving_with_stats([30, 31, 29, 28, 24, 23])  # 6 of 4, none failing the median rule at 95 %
    calm = calm_plan()
    assert calm.retire == [] and calm.jobs == calm.bred == []


def test_a_key_above_its_target_retires_its_weakest_judged_pictures_down_to_it(one_key, policy, no_enqueue):
    calm_with_trials(policy)
    liked = serving_with_stats([30, 31, 30, 30])
    weak = serving_with_stats([24, 23])  # below the median, but not failing the rule at 95 %
    unjudged = serving_with_stats([0], impressions=10)[0]  # too few impressions to judge: never taken
    # 7 of 4: room for 3 to go, but only the two below the median do.
    calm = calm_plan()
    assert sorted(r.image_id for r in calm.retire) == sorted(i.pk for i in weak)
    assert all(r.rule == SURPLUS for r in calm.retire) and "retire 2 (2 over the target)" in calm.line()
    result = services.tend()
    assert result.actions[Kind.RETIRED] == 2
    assert set(Image.objects.filter(status=Image.Status.SERVING).values_list("pk", flat=True)) == {i.pk for i in [*liked, unjudged]}
    action = GardenerAction.objects.filter(kind=Kind.RETIRED).first()
    assert action.reason.startswith("retired by the gardener") and "above its target" in action.reason
    assert action.details["rule"] == SURPLUS and action.details["impressions"] == 100 and action.details["key_median"] > 0.2
    services.undo(action=action)  # one click puts it back, and the gardener leaves it be from then on
    assert Image.objects.get(pk=action.image_id).status == Image.Status.SERVING
    assert action.image_id not in [r.image_id for r in calm_plan().retire]


def test_pictures_visitors_like_as_much_as_the_others_are_never_surplus(one_key, policy):
    calm_with_trials(policy)
    serving_with_stats([30, 30, 30, 30, 30, 30])  # 6 of 4, all at the median
    assert calm_plan().retire == []


def test_a_key_at_its_target_gets_one_trial_pair_and_another_once_visitors_judged_it(one_key, policy):
    calm_with_trials(policy)
    serving_with_stats([30, 31, 29, 28])  # at its target of 4
    calm = calm_plan()
    assert calm.trial == 1 and calm.bred == [1] and calm.jobs == [] and calm.only_trials
    assert "2 as trials above the target" in calm.line() and calm.skipped == 0

    child = bred_picture(impressions=10)  # the trial is serving, not judged yet: no other
    calm = calm_plan()
    assert calm.trial == 0 and calm.bred == []

    ImageStat.objects.filter(image=child).update(impressions=80, likes=30)  # judged, and liked
    calm = calm_plan()
    assert calm.trial == 1  # the next trial, while the weakest parent makes room
    assert [r.rule for r in calm.retire] == [SURPLUS] and calm.retire[0].image_id != child.pk


def test_trials_are_bred_jobs_logged_as_trials(one_key, policy, no_enqueue, django_capture_on_commit_callbacks):
    calm_with_trials(policy, trial_pairs=2)
    serving_with_stats([30, 31, 29, 28])
    with django_capture_on_commit_callbacks(execute=True):
        services.tend(seed=3)
    actions = list(GardenerAction.objects.filter(kind=Kind.BRED))
    assert sum(a.details["images"] for a in actions) == 4
    assert all(a.reason.startswith("a trial above the key's target") for a in actions)
    assert all(len(a.job.options["recipes"]) == a.job.count for a in actions)


def test_no_trials_without_breeding(one_key, policy):
    calm_with_trials(policy)
    policy.bred_share = 0.0
    policy.save()
    serving_with_stats([30, 31, 29, 28, 24, 23])  # above its target too: no making room either
    calm = calm_plan()
    assert calm.trial == 0 and calm.retire == []


def test_surplus_takes_a_pair_at_once_and_an_unjudged_trial_pair_counts_once(one_key, policy):
    from tests.gardener.test_retirement import pair

    calm_with_trials(policy, target=8)
    for n in range(4):
        pair(30, index=n)  # 8 serving pictures, the landscapes judged at the median
    weak_l, weak_p = pair(24, index=10)  # a judged pair below the median: 10 of 8, it goes as one
    calm = calm_plan()
    assert [(r.image_id, r.twin_id, r.rule) for r in calm.retire] == [(weak_l.pk, weak_p.pk, SURPLUS)] and calm.retiring == 2

    # The weak pair gone, a bred trial pair serving with 10 impressions between its two pictures:
    # one unjudged pair, not two, so with trial_pairs 2 there is room for one more trial.
    Image.objects.filter(pk__in=[weak_l.pk, weak_p.pk]).update(status=Image.Status.POOL)
    policy.trial_pairs = 2
    policy.save()
    trial_l, trial_p = pair(2, index=20, impressions=10)
    Image.objects.filter(pk__in=[trial_l.pk, trial_p.pk]).update(
        parameters={"lineage": {"parents": [1], "operator": "mutate", "generation": 1}}
    )
    from gardener.selectors import key_policies, trials

    (trial,) = trials(key_policies())
    assert trial.image_id == min(trial_l.pk, trial_p.pk) and trial.counts.impressions == 10  # one trial for the pair
    assert calm_plan().trial == 1


def test_a_trial_left_unjudged_past_the_patience_stops_holding_its_place_and_goes_first(one_key, policy, no_enqueue):
    """The last resort: a trial still unjudged TRIAL_PATIENCE after its promotion, in a key whose
    screens are not counted, no longer blocks new trials, and it is the first to make room (whatever
    its counts), logged with its own reason."""
    calm_with_trials(policy, trial_pairs=1)
    serving_with_stats([30, 31, 30, 20])  # at the target (4), three judged above 20
    fresh, stalled = bred_picture(impressions=10), bred_picture(impressions=12)
    long_ago = timezone.now() - TRIAL_PATIENCE - timedelta(hours=1)
    Image.objects.filter(pk=stalled.pk).update(promoted_at=long_ago)
    Image.objects.filter(pk=fresh.pk).update(promoted_at=timezone.now())
    assert open_trials() == {("calm", ""): 1}  # the fresh trial alone holds a place
    calm = calm_plan()
    # 6 of 4: the stalled trial makes room first (12 impressions: never "judged"); the fresh one stays.
    assert next(r.image_id for r in calm.retire if r.rule == SURPLUS) == stalled.pk
    assert fresh.pk not in [r.image_id for r in calm.retire]
    services.tend()
    action = GardenerAction.objects.get(kind=Kind.RETIRED, image=stalled)
    assert "stopped showing" in action.reason and action.details["stalled"].startswith("unjudged 7 days")
    assert action.details["trial_rule"] == trials.PATIENCE
    # Within the patience it holds its place and is never taken on its few impressions.
    Image.objects.filter(pk=stalled.pk).update(status=Image.Status.SERVING, promoted_at=timezone.now())
    assert stalled.pk not in [r.image_id for r in calm_plan().retire]


def screens(n: int, *, key: str = "calm") -> None:
    """``n`` /garden answers for ``key``, now (Recommendation rows, as serve_garden writes them)."""
    Recommendation.objects.bulk_create(Recommendation(search_key=key, image_ids=[], ranker="test") for _ in range(n))


def test_a_trial_its_key_served_enough_screens_without_ends_by_traffic_not_days(one_key, policy, no_enqueue):
    """Judging by traffic: once its key has served SCREENS_PER_IMPRESSION × N screens since its
    promotion without it, a trial the exploration slot stopped drawing counts as judged-weak a day
    after its promotion, not seven: its place is free and it goes first."""
    calm_with_trials(policy, trial_pairs=1)
    serving_with_stats([30, 31, 30, 20])
    passed_over = bred_picture(impressions=12)
    Image.objects.filter(pk=passed_over.pk).update(promoted_at=timezone.now() - timedelta(days=1))
    needed = trials.SCREENS_PER_IMPRESSION * policy.retire_min_impressions  # 500 screens without it
    screens(needed + 12 - 1, key="calm")
    screens(50, key="happy")  # another key's traffic says nothing about this one
    Recommendation.objects.update(created_at=timezone.now())
    assert open_trials() == {("calm", ""): 1}  # one screen short: it still holds its place
    screens(1)
    assert open_trials() == {}
    calm = calm_plan()
    assert calm.trial == 1  # its place is free: the next trial is bred
    (trial,) = selectors.trials(selectors.key_policies())
    assert trial.screens == needed + 12
    # Screens before its promotion do not count.
    Image.objects.filter(pk=passed_over.pk).update(promoted_at=timezone.now() + timedelta(minutes=1))
    assert open_trials() == {("calm", ""): 1}


def test_a_trial_unlikely_to_beat_its_keys_median_ends_before_it_is_judged(one_key, policy, no_enqueue):
    """The Beta rule on the counts it has: 0 likes in 40 impressions (N is 50) against a median near
    0.3 is P(p < m) ≈ 1, so it ends; 8 likes in 30 is about even, so it waits for its judgement."""
    calm_with_trials(policy, trial_pairs=1)
    serving_with_stats([30, 31, 30, 29])  # at the target, the median ≈ 0.30
    hopeless = bred_picture(impressions=40)
    ImageStat.objects.filter(image=hopeless).update(likes=0)
    promising = bred_picture(impressions=30)
    ImageStat.objects.filter(image=promising).update(likes=8)
    assert open_trials() == {("calm", ""): 1}  # the promising one alone holds a place
    calm = calm_plan()  # 6 of 4: the hopeless trial makes room first, the promising one waits
    surplus = [r.image_id for r in calm.retire if r.rule == SURPLUS]
    assert surplus[0] == hopeless.pk and promising.pk not in surplus
    services.tend()
    action = GardenerAction.objects.get(kind=Kind.RETIRED, image=hopeless)
    assert "unlikely to beat its key's median" in action.reason
    assert action.details["trial_rule"] == trials.BELOW_MEDIAN and action.details["p_below_median"] > 0.99


def test_trial_endings_rules_in_order():
    """gardener.trials alone: the Beta rule first, then the screens, then the patience."""
    from gardener.retirement import Counts

    now = timezone.now()
    trial = trials.Trial(1, "calm", "", now, Counts(impressions=10, likes=0), screens=0)
    rule = {"median": 0.3, "min_impressions": 50, "threshold": 0.95, "now": now}
    assert trials.ending(trial, **rule).rule == trials.BELOW_MEDIAN  # P = 1 − 0.7^11 ≈ 0.980
    assert trials.ending(trial, **(rule | {"median": None})) is None  # no median: no Beta rule
    assert trials.ending(trial, **(rule | {"threshold": 0.99})) is None
    assert trials.ending(trials.Trial(1, "calm", "", now, Counts(0, 0)), **rule) is None  # unseen: nothing to say
    many = trials.Trial(1, "calm", "", now, Counts(impressions=10, likes=3), screens=510)
    assert trials.ending(many, **rule).rule == trials.PASSED_OVER  # 500 screens without it
    assert trials.ending(many, **(rule | {"min_impressions": 60})) is None
    old = trials.Trial(1, "calm", "", now - trials.TRIAL_PATIENCE - timedelta(seconds=1), Counts(impressions=10, likes=3))
    assert trials.ending(old, **rule).rule == trials.PATIENCE
    assert trials.open_pairs([trial, many, old], {("calm", ""): {1: trials.ending(old, **rule)}}) == {}
