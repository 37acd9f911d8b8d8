"""Estimates that count what a job waits for (generation.progress, docs/models.md → Progress): the
jobs ahead of it on its queue, the model's load as this worker last timed it, and the time since the
last written progress, so the number goes down while the job waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generation.models import GenerationJob
from generation.progress import Estimates

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)
MP = 512 * 512 / 1e6  # one 512² picture in megapixels
# A painting job of 10 steps and 2 pictures at the pace below: 10 × MP × 2 s painting, 2 s storing.
WHOLE = 10 * MP * 2 + 2


def job(**fields) -> GenerationJob:
    values = {
        "emotion": "calm", "prompt": "a calm garden", "width": 512, "height": 512, "steps": 10, "guidance": 7.0, "seed": 1,
        "count": 2, "images_total": 2, "steps_total": 10, "timestr": "t", "backend": "diffusers", "queue": "gpu",
        "model": "garden-one", "created_at": T0,
    }  # fmt: skip
    return GenerationJob.objects.create(**(values | fields))


@pytest.fixture
def worker_pace():
    """w1's recent jobs: 1 s per megapixel-picture step, 1 s storing each picture; it loaded
    garden-two in 14 s and garden-one in 2 s. w2 loaded garden-two in 99 s."""

    def done(minutes_ago: int, worker: str, **fields) -> None:
        job(status=GenerationJob.Status.SUCCEEDED, created_at=T0 - timedelta(minutes=minutes_ago), worker=worker, **fields)

    done(90, "w2", model="garden-two", timings={"load": 99.0, "generate": 10 * MP * 2, "store": 2.0})
    done(60, "w1", model="garden-two", timings={"load": 14.0, "generate": 20 * MP * 2, "store": 2.0}, steps=20)
    done(50, "w1", timings={"load": 2.0, "generate": 10 * MP * 2, "store": 2.0})
    done(40, "w1", timings={"load": 0.0, "generate": 10 * MP * 2, "store": 2.0})  # garden-one was loaded already


def running(**fields) -> GenerationJob:
    return job(status=GenerationJob.Status.RUNNING, worker="w1", started_at=T0, created_at=T0 - timedelta(seconds=1), **fields)


@pytest.mark.usefixtures("worker_pace")
def test_a_queued_job_counts_the_job_running_ahead_and_its_own_load_and_counts_down():
    ahead = running(stage=GenerationJob.Stage.PAINTING, steps_done=5, progress_at=T0)
    queued = job(model="garden-two")
    left_ahead = WHOLE - 10 * MP  # half its steps painted, both pictures to store
    # garden-two is not what the queue's worker holds: its load is counted, the newest on the queue
    # (w1's 14 s; w2's 99 s is older).
    queue_load = 14.0
    assert Estimates(now=T0).seconds_left(ahead) == round(left_ahead)
    assert Estimates(now=T0).seconds_left(queued) == round(left_ahead + queue_load + WHOLE)
    # Three seconds later, nothing written by the worker: the estimate has gone down by three.
    assert Estimates(now=T0 + timedelta(seconds=3)).seconds_left(queued) == round(left_ahead - 3 + queue_load + WHOLE)
    assert Estimates(now=T0 + timedelta(seconds=3)).seconds_left(ahead) == round(left_ahead - 3)


@pytest.mark.usefixtures("worker_pace")
def test_no_load_is_counted_when_the_job_ahead_paints_the_same_model_and_jobs_queued_before_count_whole():
    running(stage=GenerationJob.Stage.PAINTING, steps_done=10, images_done=1, progress_at=T0)  # storing its last picture
    first = job(created_at=T0 + timedelta(seconds=1))
    second = job(created_at=T0 + timedelta(seconds=2), model="garden-two")
    estimates = Estimates(now=T0)
    assert estimates.seconds_left(first) == round(1 + WHOLE)
    assert estimates.seconds_left(second) == round(1 + WHOLE + 14.0 + WHOLE)


@pytest.mark.usefixtures("worker_pace")
def test_a_loading_job_counts_this_workers_own_last_load_of_its_model_down():
    loading = running(stage=GenerationJob.Stage.LOADING, model="garden-two")
    assert Estimates(now=T0).seconds_left(loading) == round(14.0 + WHOLE)  # w1's own 14 s, not w2's 99 s
    assert Estimates(now=T0 + timedelta(seconds=10)).seconds_left(loading) == round(4.0 + WHOLE)
    # Loading for longer than last time: the load part is spent, the painting is still to come.
    assert Estimates(now=T0 + timedelta(seconds=30)).seconds_left(loading) == round(WHOLE)


@pytest.mark.usefixtures("worker_pace")
def test_a_job_past_its_estimate_is_at_zero_not_below_and_unknown_speeds_give_none():
    late = running(stage=GenerationJob.Stage.PAINTING, steps_done=10, steps_total=10, images_done=1, progress_at=T0)
    assert Estimates(now=T0 + timedelta(seconds=30)).seconds_left(late) == 0
    assert Estimates(now=T0).seconds_left(job(queue="elsewhere")) is None  # nobody painted on that queue yet
    finished = job(status=GenerationJob.Status.SUCCEEDED)
    assert Estimates(now=T0).seconds_left(finished) is None


def test_without_any_load_seen_a_loading_job_has_no_estimate():
    job(status=GenerationJob.Status.SUCCEEDED, worker="w1", timings={"load": 0.0, "generate": 10 * MP * 2, "store": 2.0})
    loading = running(stage=GenerationJob.Stage.LOADING, model="garden-two")
    assert Estimates(now=T0).seconds_left(loading) is None  # rather than a number that leaves the load out


def test_positions_from_the_line_are_the_queue_positions():
    from generation.selectors import job_queue_position

    jobs = [job(created_at=T0 + timedelta(seconds=second)) for second in (2, 0, 0, 1)] + [job(queue="other")]
    running(stage=GenerationJob.Stage.PAINTING)
    estimates = Estimates(now=T0)
    assert [estimates.position(one) for one in jobs] == [job_queue_position(one) for one in jobs]
    assert sorted(estimates.position(one) for one in jobs[:4]) == [1, 2, 3, 4]
