"""Leaving the demo: a real model configured turns the demo's trusted gardener to review mode, and
the gardener says what it does (the System status page, its policy page)."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from garden.models import Image
from gardener import services
from gardener.models import EmotionPolicy, GardenerAction, GardenerPolicy, PromotionMode
from gardener.selectors import global_policy
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db
Kind = GardenerAction.Kind


def test_the_demos_trusted_gardener_turns_to_review_once_a_real_model_is_configured(
    settings, eager_celery, django_capture_on_commit_callbacks, capsys
):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    assert services.enable_for_demo()
    policy = global_policy()
    assert policy.set_by_demo and policy.promotion_mode == PromotionMode.TRUSTED
    # Only calm's keys and a small budget, for a short run (update(): a save would be a curator's).
    GardenerPolicy.objects.filter(pk=policy.pk).update(enabled=False, daily_image_budget=4)
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=2, minimum_per_key=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend()  # the demo paints procedurally
    made = Image.objects.filter(generation_jobs__in=GenerationJob.objects.all())
    assert made.count() == 4 and set(made.values_list("status", flat=True)) == {Image.Status.POOL}

    settings.GARDEN_GENERATOR_BACKEND = "diffusers"  # the operator set GARDEN_DIFFUSION_MODEL: a real model
    call_command("tend_garden", "--demo")  # make run's next start

    policy = global_policy()
    assert policy.promotion_mode == PromotionMode.REVIEW and not policy.set_by_demo
    assert "the demo's trusted mode is now review" in capsys.readouterr().out
    assert not GardenerAction.objects.filter(kind=Kind.PROMOTED).exists()  # today: 4 promoted with no curator
    assert set(made.values_list("status", flat=True)) == {Image.Status.POOL}


def test_a_policy_a_curator_saved_is_theirs(settings, admin_client):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    services.enable_for_demo()
    url = reverse("admin:gardener_gardenerpolicy_change", args=[global_policy().pk])
    page = admin_client.get(url).content.decode()
    assert "on, trusted: the pictures it paints go to the kiosks without a curator" in page and "demo&#x27;s setting" in page
    fields = ("target_per_key", "minimum_per_key", "daily_image_budget", "daily_gpu_minutes", "pool_backlog_limit")
    fields += ("images_per_job", "retire_min_impressions", "retire_probability", "bred_share", "trial_pairs")
    policy = global_policy()
    form = {name: getattr(policy, name) for name in fields} | {"enabled": "on", "promotion_mode": "trusted"}
    assert admin_client.post(url, form).status_code == 302  # the curator keeps trusted mode, on purpose
    assert not global_policy().set_by_demo
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    assert services.leave_demo() is False and global_policy().promotion_mode == PromotionMode.TRUSTED


def test_a_first_start_with_a_real_model_turns_the_gardener_on_in_review_mode(settings):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    assert services.enable_for_demo()
    assert global_policy().promotion_mode == PromotionMode.REVIEW


@pytest.mark.django_db(transaction=True)
def test_the_migration_marks_a_policy_an_earlier_make_run_made_as_the_demos():
    from tests.migration_support import migrate, migrated_from

    with migrated_from([("gardener", "0006_alter_emotionpolicy_options_and_more")]) as old:
        policies = old.get_model("gardener", "GardenerPolicy")
        policies.objects.all().delete()
        policies.objects.create(pk=1, enabled=True, promotion_mode="trusted", trial_pairs=1)  # what tend_garden --demo made
        new = migrate([("gardener", "0007_gardenerpolicy_set_by_demo")])
        assert new.get_model("gardener", "GardenerPolicy").objects.get(pk=1).set_by_demo
    with migrated_from([("gardener", "0006_alter_emotionpolicy_options_and_more")]) as old:
        policies = old.get_model("gardener", "GardenerPolicy")
        policies.objects.all().delete()
        policies.objects.create(pk=1, enabled=True, promotion_mode="trusted", trial_pairs=1, daily_image_budget=500)  # a curator's
        new = migrate([("gardener", "0007_gardenerpolicy_set_by_demo")])
        assert not new.get_model("gardener", "GardenerPolicy").objects.get(pk=1).set_by_demo
