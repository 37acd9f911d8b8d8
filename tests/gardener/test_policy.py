"""The policy: one global row, off on a fresh install, per-emotion overrides that inherit."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from gardener.models import EmotionPolicy, GardenerPolicy, PromotionMode
from gardener.selectors import global_policy, key_policies

pytestmark = pytest.mark.django_db


def test_a_fresh_install_has_one_global_policy_that_is_off():
    assert not GardenerPolicy.objects.exists()
    policy = global_policy()
    assert global_policy().pk == policy.pk and GardenerPolicy.objects.count() == 1
    assert policy.enabled is False and policy.promotion_mode == PromotionMode.REVIEW
    assert (policy.retire_probability, policy.minimum_per_key <= policy.target_per_key) == (0.95, True)


def test_overrides_inherit_every_blank_field(policy):
    policy.target_per_key, policy.minimum_per_key, policy.retire_min_impressions = 10, 3, 40
    policy.save()
    EmotionPolicy.objects.create(emotion="sad", target_per_key=20, promotion_mode=PromotionMode.TRUSTED)
    EmotionPolicy.objects.create(emotion="angry", enabled=False, retire_probability=0.99)

    policies = key_policies()

    sad, angry, calm = policies["sad"], policies["angry"], policies["calm"]
    assert (sad.enabled, sad.target, sad.minimum, sad.promotion_mode, sad.retire_min_impressions) == (True, 20, 3, "trusted", 40)
    assert (angry.enabled, angry.target, angry.retire_probability, angry.promotion_mode) == (False, 10, 0.99, "review")
    assert (calm.enabled, calm.target, calm.minimum, calm.retire_probability) == (True, 10, 3, 0.95)


def test_an_override_can_turn_one_emotion_on_while_the_global_policy_is_off():
    EmotionPolicy.objects.create(emotion="fear", enabled=True)
    policies = key_policies()
    assert policies["fear"].enabled and not policies["calm"].enabled


def test_a_minimum_above_the_target_is_refused():
    policy = global_policy()
    policy.minimum_per_key, policy.target_per_key = 5, 4
    with pytest.raises(ValidationError, match="minimum"):
        policy.full_clean()
    with pytest.raises(ValidationError, match="minimum"):
        EmotionPolicy(emotion="calm", minimum_per_key=9, target_per_key=2).full_clean()
    with pytest.raises(ValidationError):
        EmotionPolicy(emotion="calm", retire_probability=0.2).full_clean()


def test_enable_is_refused_with_a_dry_run():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("tend_garden", "--enable", "trusted", "--dry-run")
    with pytest.raises(CommandError, match="cannot be combined"):
        call_command("tend_garden", "--demo", "--dry-run")
    assert not global_policy().enabled


def test_the_demo_setup_turns_it_on_in_trusted_mode(capsys):
    call_command("tend_garden", "--enable", "trusted")
    policy = global_policy()
    assert policy.enabled and policy.promotion_mode == PromotionMode.TRUSTED
    assert "Gardener enabled (trusted mode)." in capsys.readouterr().out


def test_make_runs_demo_turns_a_new_policy_on_once(capsys, no_enqueue):
    call_command("tend_garden", "--demo")
    policy = global_policy()
    assert policy.enabled and policy.promotion_mode == PromotionMode.TRUSTED and policy.trial_pairs == 4
    assert "Gardener enabled for the demo" in capsys.readouterr().out
    policy.enabled = False  # a curator turns it off: the next start leaves it off
    policy.save()
    call_command("tend_garden", "--demo")
    assert not global_policy().enabled and "enabled for the demo" not in capsys.readouterr().out


def test_the_gardener_can_fill_only_some_favorites(settings):
    from django.core.checks import run_checks

    from gardener.selectors import kiosk_keys

    settings.GARDEN_GARDENER_FAVORITES = ("", "spring,sunny,day")
    assert kiosk_keys()[:2] == [("happy", ""), ("happy", "spring,sunny,day")] and len(kiosk_keys()) == 16
    assert not [m for m in run_checks() if m.id == "gardener.W001"]
    settings.GARDEN_GARDENER_FAVORITES = ("", "spring,sunny")
    [warning] = [m for m in run_checks() if m.id == "gardener.W001"]
    assert "spring,sunny" in warning.msg
