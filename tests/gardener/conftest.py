"""Shared helpers for the gardener's tests: a policy that is on, serving images with feedback."""

import pytest

from gardener.models import GardenerPolicy
from gardener.selectors import global_policy
from recommend.models import ImageStat
from tests.factories import ImageFactory


@pytest.fixture
def policy(db) -> GardenerPolicy:
    """The global policy, switched on, with no budget: a test that wants jobs gives it some."""
    row = global_policy()
    row.enabled = True
    row.daily_image_budget = 0
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
