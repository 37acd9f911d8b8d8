"""Undo of every kind of action, through the service and the admin's one-click action."""

import pytest
from django.urls import reverse

from garden.models import Image
from gardener import services
from gardener.models import EmotionPolicy, GardenerAction, GardenerPolicy, PromotionMode
from gardener.planning import make_plan
from generation.models import GenerationJob
from tests.gardener.conftest import serving_with_stats

pytestmark = pytest.mark.django_db
Kind = GardenerAction.Kind
LOG = reverse("admin:gardener_gardeneraction_changelist")


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("head-gardener", password="pw-garden-1")
    client.force_login(user)
    client.user = user
    return client


def retire_one(policy) -> GardenerAction:
    bad = serving_with_stats([30, 31, 29, 30, 30, 2])[-1]
    services.tend()
    action = GardenerAction.objects.get(kind=Kind.RETIRED)
    assert action.image == bad and Image.objects.get(pk=bad.pk).status == Image.Status.POOL
    return action


def test_undo_a_retirement_promotes_the_image_back_and_logs_it(policy, django_user_model):
    action = retire_one(policy)
    user = django_user_model.objects.create_user("curator")
    undo = services.undo(action=action, user=user)
    image = Image.objects.get(pk=action.image_id)
    assert image.status == Image.Status.SERVING and image.key.startswith("emotions/calm/")
    action.refresh_from_db()
    assert action.undone_at is not None and action.undone_by == user
    assert (undo.kind, undo.undoes, undo.image, undo.details["detail"]) == (Kind.UNDONE, action, image, "promoted back to serving")
    with pytest.raises(services.NotUndoable, match="Already undone"):
        services.undo(action=action)
    services.tend()  # the curator's word stands: the same feedback does not retire it again
    assert Image.objects.get(pk=image.pk).status == Image.Status.SERVING
    assert GardenerAction.objects.filter(kind=Kind.RETIRED).count() == 1


def test_undo_a_promotion_demotes_and_undo_an_addition_rejects(policy, eager_celery, django_capture_on_commit_callbacks):
    policy.enabled = False
    policy.daily_image_budget = 2
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=2, promotion_mode=PromotionMode.TRUSTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend()
    services.tend()
    promoted = GardenerAction.objects.filter(kind=Kind.PROMOTED).first()
    services.undo(action=promoted)
    assert Image.objects.get(pk=promoted.image_id).status == Image.Status.POOL

    added = GardenerAction.objects.get(kind=Kind.ADDED)
    services.undo(action=added)
    statuses = dict(Image.objects.filter(pk__in=added.details["images"]).values_list("pk", "status"))
    assert statuses[promoted.image_id] == Image.Status.REJECTED  # it was back in the pool
    assert sorted(statuses.values()) == [Image.Status.REJECTED, Image.Status.SERVING]  # the other is still serving


def test_undo_a_planned_job_cancels_it_only_while_queued(policy, no_enqueue):
    policy.enabled = False
    policy.daily_image_budget = 4
    policy.images_per_job = 1
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=2)
    services.tend()
    first, second = GardenerAction.objects.filter(kind=Kind.PLANNED).order_by("id")
    services.undo(action=first)
    assert GenerationJob.objects.get(pk=first.job_id).status == GenerationJob.Status.CANCELLED
    # The key is not filled again today: the next run (minutes later) must not plan the same job.
    calm = next(k for k in make_plan().keys if k.search_key == first.search_key)
    assert calm.paused and not calm.jobs and "not filled today" in calm.line()
    GenerationJob.objects.filter(pk=second.job_id).update(status=GenerationJob.Status.RUNNING)
    with pytest.raises(services.NotUndoable, match="already started"):
        services.undo(action=second)
    assert GardenerAction.objects.get(pk=second.pk).undone_at is None


def test_skipped_and_undone_entries_have_nothing_to_undo(policy):
    skipped = GardenerAction.objects.create(kind=Kind.SKIPPED_BUDGET, reason="budget")
    with pytest.raises(services.NotUndoable, match="nothing to undo"):
        services.undo(action=skipped)


def test_the_admin_log_lists_filters_and_undoes_in_one_click(policy, admin_client):
    action = retire_one(policy)
    GardenerAction.objects.create(kind=Kind.SKIPPED_BUDGET, reason="limited by the image budget")
    page = admin_client.get(LOG, {"kind": Kind.RETIRED})
    assert page.status_code == 200 and "retired by the gardener" in page.content.decode()
    assert page.context["cl"].result_count == 1

    response = admin_client.post(LOG, {"action": "undo_actions", "_selected_action": [action.pk]}, follow=True)
    assert response.status_code == 200 and "Undid 1 action." in response.content.decode()
    assert Image.objects.get(pk=action.image_id).status == Image.Status.SERVING

    again = admin_client.post(LOG, {"action": "undo_actions", "_selected_action": [action.pk]}, follow=True)
    assert again.status_code == 200 and "Not undone: #" in again.content.decode() and "Already undone" in again.content.decode()
    assert admin_client.get(reverse("admin:gardener_gardeneraction_change", args=[action.pk])).status_code == 200


def test_the_policy_admin_is_one_row_and_refuses_bad_input_with_a_message(admin_client):
    listing = admin_client.get(reverse("admin:gardener_gardenerpolicy_changelist"))
    policy = GardenerPolicy.objects.get()
    assert listing.status_code == 302 and listing["Location"] == reverse("admin:gardener_gardenerpolicy_change", args=[policy.pk])
    change = reverse("admin:gardener_gardenerpolicy_change", args=[policy.pk])
    form = admin_client.get(change).context["adminform"].form.initial
    data = {k: v for k, v in form.items() if k != "id" and v is not None}
    data.update(enabled="on", minimum_per_key=20, target_per_key=5, retire_probability=0.3)
    refused = admin_client.post(change, data)
    assert refused.status_code == 200 and "The minimum cannot be above the target." in refused.content.decode()
    assert not GardenerPolicy.objects.get().enabled
    data.update(minimum_per_key=3, retire_probability=0.9)
    assert admin_client.post(change, data).status_code == 302
    saved = GardenerPolicy.objects.get()
    assert (saved.enabled, saved.minimum_per_key, saved.retire_probability) == (True, 3, 0.9)
    assert admin_client.get(reverse("admin:gardener_emotionpolicy_add")).status_code == 200
