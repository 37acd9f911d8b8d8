"""Live picture fixtures: the procedural painter (the embedded default) and a worker seen serving
the live queue, unless a test says otherwise."""

import pytest
from django.utils import timezone

from generation.models import WorkerPresence


@pytest.fixture
def live_settings(settings):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    settings.GARDEN_MODELS_DIR = ""
    settings.GARDEN_LIVE_ENABLED = True
    settings.GARDEN_LIVE_QUEUE = "live"
    settings.GARDEN_LIVE_MAX_QUEUED = 4
    settings.GARDEN_LIVE_DAILY_BUDGET = 2000
    settings.GARDEN_LIVE_RATE = "30/minute"
    settings.GARDEN_LIVE_SIZE = 64
    return settings


@pytest.fixture
def live_worker(db):
    """A worker's presence row on the live queue, as a real worker writes it."""
    return WorkerPresence.objects.create(name="live@test", queues=["live"], seen_at=timezone.now())


def ask(client, body, **headers):
    return client.post("/live", body, format="json", **headers)
