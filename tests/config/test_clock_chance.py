"""config.clock and config.chance: the wall clock and the default draws unless a simulation installs
its own (bench/gardener.py); then the app's stamps and windows read the simulated moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from config import chance, clock

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def simulated():
    moment = clock.SimulatedClock(START)
    clock.install(moment)
    yield moment
    clock.install(None)


def test_the_wall_clock_by_default():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()
    assert clock.installed() is None


def test_a_simulated_clock_moves_only_when_advanced(simulated):
    assert clock.now() == START == clock.now()
    simulated.advance(5)
    assert clock.now() == START + timedelta(seconds=5)
    with pytest.raises(ValueError):
        simulated.advance(-1)
    with pytest.raises(ValueError):
        clock.SimulatedClock(datetime(2026, 1, 5))  # naive


def test_seeded_draws_repeat_and_unseeded_ones_do_not():
    def draws():
        return chance.randbelow(2**32), chance.token_hex(3), chance.rng().random(), chance.numpy_rng().random()

    try:
        chance.seed(7)
        first = draws()
        chance.seed(7)
        assert draws() == first
        chance.seed(8)
        assert draws() != first
    finally:
        chance.seed(None)
    assert not chance.seeded()
    assert draws() != draws()


@pytest.mark.django_db
def test_the_stamps_the_windows_compare_follow_the_installed_clock(simulated, eager_celery, django_capture_on_commit_callbacks):
    """A like, a promotion, a job and a gardener action are stamped by the app's clock; the
    gardener's day is the simulated day."""
    from garden import services as garden_services
    from garden.models import Image, Visitor
    from gardener import selectors as gardener_selectors
    from gardener import services as gardener_services
    from gardener.models import GardenerAction
    from generation import services as generation_services
    from generation.requests import JobRequest
    from recommend import services as recommend_services
    from recommend.models import Interaction

    simulated.advance(60)
    request = JobRequest(kind="bulk", emotion="calm", count=1, width=64, height=64, backend="procedural", seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_services.create_job(request=request)
    job.refresh_from_db()
    assert job.created_at == job.enqueued_at == START + timedelta(seconds=60)
    assert job.timestr.startswith("20260105-080100-")
    assert job.status == "succeeded", job.error
    image = job.images.filter(orientation=Image.Orientation.LANDSCAPE).get()
    simulated.advance(60)
    image = garden_services.promote_image(image=image)
    assert image.promoted_at == START + timedelta(seconds=120)
    Visitor.objects.create(id="v-1", age_group="adult")
    recommend_services.record_like(visitor_id="v-1", item_key=image.key, impression=[image.key])
    assert Interaction.objects.get(visitor_id="v-1").created_at == START + timedelta(seconds=120)
    action = gardener_services._log(GardenerAction.Kind.SKIPPED_BUDGET, reason="test")
    assert action.created_at == START + timedelta(seconds=120)
    assert gardener_selectors.day_start() == datetime(2026, 1, 5, tzinfo=UTC)
