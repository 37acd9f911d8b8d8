"""Foreground before background in one process (generation.worker.yielding): when a background job
yields, and how it resumes, with the tiny diffusers pipeline. The real worker's figure is
tests/generation/test_yielding_worker.py."""

import pytest

from generation import services
from generation.models import GenerationJob
from generation.worker import lifecycle, yielding
from generation.worker.runner import run_claimed_job

pytestmark = pytest.mark.django_db

Status = GenerationJob.Status


@pytest.fixture
def yield_settings(diffusers_settings, no_enqueue):
    diffusers_settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    diffusers_settings.GARDEN_BACKGROUND_CALL_PICTURES = 1
    diffusers_settings.GARDEN_BACKGROUND_YIELD = True
    return diffusers_settings


def job(*, background: bool, count: int = 1, seed: int = 7) -> GenerationJob:
    request = services.JobRequest(emotion="calm", count=count, width=64, height=64, steps=2, seed=seed)
    return services.create_job(request=request, background=background, enqueue=False)


def run_by_message(queued: GenerationJob) -> GenerationJob:
    """One claim and run, as a worker's message makes it (a message id: it may yield)."""
    claimed = lifecycle.claim_job(job_id=queued.pk, worker="painter@here", message=f"message-{queued.attempts}")
    assert claimed is not None
    return run_claimed_job(claimed)


def test_background_calls_are_short_and_foreground_calls_are_not(yield_settings):
    assert [len(batch) for batch in services.job_batches(job(background=True, count=3))] == [1, 1, 1]
    assert [len(batch) for batch in services.job_batches(job(background=False, count=3))] == [3]
    yield_settings.GARDEN_BACKGROUND_CALL_PICTURES = 0  # off: the ordinary batch size
    assert [len(batch) for batch in services.job_batches(job(background=True, count=3))] == [3]


def test_the_yield_decision(yield_settings):
    background = job(background=True)
    background.message_id = "a-message"
    assert not yielding.foreground_waiting([background.queue])
    foreground = job(background=False)
    assert yielding.foreground_waiting([background.queue])
    assert not yielding.foreground_waiting(["another-queue"])
    assert yielding.may_yield(background)
    assert not yielding.may_yield(foreground)  # foreground work never yields
    background.message_id = ""  # `manage.py generate`, an eager task: nobody to yield to
    assert not yielding.may_yield(background)
    background.message_id = "a-message"
    yield_settings.GARDEN_BACKGROUND_YIELD = False
    assert not yielding.may_yield(background)
    yield_settings.GARDEN_BACKGROUND_YIELD = True
    services.cancel_job(job=foreground)  # a cancelled one waits for nothing
    assert not yielding.foreground_waiting([background.queue])


def test_a_background_job_yields_between_calls_and_resumes_where_it_stopped(yield_settings):
    background = job(background=True, count=3)
    foreground = job(background=False)

    first = run_by_message(background)  # one call, then it sees the foreground job waiting
    assert (first.status, first.attempts, first.images.count(), first.images_done) == (Status.QUEUED, 0, 1, 1)
    assert first.timings["yields"] == 1 and not first.error and not first.notice  # not a failure
    assert first.steps_done == 2 and first.steps_total == 6  # progress stays as painted: 1 of 3

    services.cancel_job(job=foreground)  # the foreground job is gone: nothing to yield to
    done = run_by_message(first)
    assert (done.status, done.attempts, done.images.count(), done.images_done) == (Status.SUCCEEDED, 1, 3, 3)
    keys = list(done.images.values_list("key", flat=True))
    assert len(set(keys)) == 3  # each picture painted once: the first one was kept, not painted again
    assert done.timings["yields"] == 1


def test_each_claim_paints_a_call_before_it_may_yield(yield_settings):
    background = job(background=True, count=2)
    job(background=False)  # waits all along
    first = run_by_message(background)
    second = run_by_message(first)
    assert (first.images_done, second.status, second.images.count()) == (1, Status.SUCCEEDED, 2)  # the last call ends it


def test_a_cancel_during_a_yield_ends_the_job_with_its_pictures(yield_settings):
    background = job(background=True, count=3)
    job(background=False)
    yielded = run_by_message(background)
    cancelled = services.cancel_job(job=yielded)
    assert (cancelled.status, cancelled.images.count()) == (Status.CANCELLED, 1)
    assert lifecycle.claim_job(job_id=cancelled.pk, worker="painter@here", message="late") is None


def test_a_job_whose_cancel_was_asked_does_not_yield_but_stops(yield_settings):
    background = job(background=True, count=3)
    job(background=False)
    claimed = lifecycle.claim_job(job_id=background.pk, worker="painter@here", message="m")
    GenerationJob.objects.filter(pk=claimed.pk).update(cancel_requested=True)
    claimed.refresh_from_db()
    assert run_claimed_job(claimed).status == Status.CANCELLED
