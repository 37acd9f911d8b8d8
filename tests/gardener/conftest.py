"""Shared helpers for the gardener's tests: a policy that is on, serving images with feedback, a
diffusers garden of liked pictures."""

import pytest

from garden.models import Image
from gardener.models import EmotionPolicy, GardenerPolicy
from gardener.selectors import global_policy
from generation.models import GenerationJob
from generation.requests import JobRequest
from recommend.models import ImageStat
from tests.factories import ImageFactory


@pytest.fixture
def policy(db) -> GardenerPolicy:
    """The global policy, switched on, with no budget: a test that wants jobs gives it some."""
    row = global_policy()
    row.enabled = True
    row.daily_image_budget = 0
    # Trials off (their default is 4): these tests read filling and retirement alone; trials have
    # their own tests (test_trials.py sets trial_pairs).
    row.trial_pairs = 0
    row.save()
    return row


def serving_with_stats(likes: list[int], *, impressions: int = 100, emotion: str = "calm", favorite: str = "", segment: str = "*"):
    """One serving image per entry of ``likes``, each shown ``impressions`` times in ``segment``."""
    images = []
    for n in likes:
        image = ImageFactory(emotion=emotion, favorite=favorite)
        ImageStat.objects.create(image=image, segment=segment, impressions=impressions, likes=n)
        images.append(image)
    return images


@pytest.fixture
def one_key(monkeypatch):
    """Kiosks ask for "calm" alone: the other 519 keys would take the budget first (emptiest first)."""
    from gardener import selectors

    monkeypatch.setattr(selectors, "kiosk_keys", lambda: [("calm", "")])


def diffusers_garden(policy, django_capture_on_commit_callbacks, *, target: int = 6, **job) -> list[Image]:
    """Four serving diffusers pictures of "calm" (a bulk job of two pairs), all liked, and a policy
    that wants ``target`` of them, all bred."""
    from garden import services as garden_services
    from generation import services as generation_services
    from recommend.models import ImageStat

    request = {"kind": GenerationJob.Kind.BULK, "emotion": "calm", "count": 2, "width": 64, "height": 64, "seed": 7, **job}
    with django_capture_on_commit_callbacks(execute=True):
        made = generation_services.create_job(request=JobRequest(prompt="calm, a still pond, flowers", **request))
    made.refresh_from_db()
    assert made.status == GenerationJob.Status.SUCCEEDED, made.error
    parents = list(made.images.order_by("key"))
    for image, likes in zip(parents, (40, 38, 36, 34), strict=True):
        garden_services.promote_image(image=image)
        ImageStat.objects.create(image=image, segment="*", impressions=100, likes=likes)
    policy.enabled = False
    policy.daily_image_budget, policy.bred_share, policy.images_per_job = 2 * (target - 4), 1.0, 2
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=target, minimum_per_key=1)
    return parents
