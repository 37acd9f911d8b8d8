"""Estimates per unit of work (issue 96): a small call's pace predicts a big job's. A call step costs
a fixed part plus a part per megapixel of the call's pictures (generation.progress.fit_pace), fitted
to the queue's recent jobs of the job's model; real jobs of different sizes on the tiny random-weight
pipeline (testkit/tiny_pipeline.py) check that the worker's own timings give a bigger job its estimate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generation import progress, services
from generation.models import GenerationJob
from generation.progress import Estimates, fit_pace
from generation.requests import JobRequest
from generation.worker import runner
from library.services import entries as library_services
from testkit.tiny_library import PIPELINES
from testkit.tiny_pipeline import save_tiny_pipeline

MODEL = PIPELINES[0]


def test_the_fit_tells_a_call_steps_fixed_part_from_its_part_per_megapixel():
    # 0.1 s per call step plus 6 s per megapixel-picture step, at two call sizes (64² and 256²).
    def row(steps: int, megapixels: float) -> tuple[float, float, float]:
        return steps, steps * megapixels, steps * (0.1 + 6 * megapixels)

    fixed, per_unit = fit_pace([row(2, 0.004096), row(8, 0.004096), row(4, 0.065536)])
    assert fixed == pytest.approx(0.1) and per_unit == pytest.approx(6.0)
    # One call size cannot tell them apart: its pace split by the prior (the fixed part costs what
    # PRIOR_FIXED_MEGAPIXELS cost), so that the one size is painted at the pace it had.
    step, prior = 0.1 + 6 * 0.004096, progress.PRIOR_FIXED_MEGAPIXELS
    one_size = fit_pace([row(2, 0.004096), row(8, 0.004096)])
    assert one_size == (pytest.approx(step * prior / (prior + 0.004096)), pytest.approx(step / (prior + 0.004096)))
    assert one_size[0] + one_size[1] * 0.004096 == pytest.approx(step)
    assert fit_pace([row(2, 0.004096)], prior=0.0) == (0.0, pytest.approx(step / 0.004096))  # main's before issue 96
    # A fit that would need a negative part keeps the other one alone.
    assert fit_pace([(4, 4 * 0.004096, 4.0), (4, 4 * 0.065536, 2.0)])[1] == 0.0
    assert fit_pace([]) is None and fit_pace([(0, 0.0, 1.0)]) is None


@pytest.mark.django_db
def test_a_gathered_calls_mates_count_the_call_once():
    """Four one-picture jobs painted in one call each record the call's time (timings["gathered"]: 4):
    the pace is the call's, not four times a picture's."""
    now = timezone.now()
    values = {
        "emotion": "calm", "prompt": "p", "width": 512, "height": 512, "steps": 10, "guidance": 7.0, "seed": 1, "count": 1,
        "images_total": 1, "steps_total": 10, "timestr": "t", "backend": "diffusers", "queue": "gpu", "model": "m",
        "status": GenerationJob.Status.SUCCEEDED,
    }  # fmt: skip
    unit = 10 * 512 * 512 / 1e6  # one picture's megapixel steps
    for n in range(4):  # one call of 4 pictures: 4 units of work in 4 s
        GenerationJob.objects.create(**values, created_at=now - timedelta(seconds=n), timings={"generate": 4 * unit, "gathered": 4})
    speed = Estimates(now=now, prior=0.0).speed(GenerationJob(**values))
    assert speed.per_unit == pytest.approx(1.0)  # not 4.0: each mate's 4 s paid for 4 pictures


@pytest.mark.django_db
def test_the_pace_of_the_jobs_own_model_and_not_another_models():
    now = timezone.now()
    values = {
        "emotion": "calm", "prompt": "p", "width": 512, "height": 512, "steps": 10, "guidance": 7.0, "seed": 1, "count": 1,
        "images_total": 1, "steps_total": 10, "timestr": "t", "backend": "diffusers", "queue": "gpu",
    }  # fmt: skip
    unit = 10 * 512 * 512 / 1e6
    done = GenerationJob.Status.SUCCEEDED
    GenerationJob.objects.create(**values, status=done, model="big", created_at=now - timedelta(minutes=2), timings={"generate": 20 * unit})
    GenerationJob.objects.create(**values, status=done, model="small", created_at=now - timedelta(minutes=1), timings={"generate": unit})
    estimates = Estimates(now=now, prior=0.0)  # one call size, unsplit: the pace is per megapixel-picture step
    big, small, unseen = (GenerationJob(**values, model=model) for model in ("big", "small", "unseen"))
    assert estimates.speed(big).per_unit == pytest.approx(20.0)
    assert estimates.speed(small).per_unit == pytest.approx(1.0)
    # Without its own: both models', fitted on relative errors (the least squares of 1 - pace/seconds-per-unit).
    assert estimates.speed(unseen).per_unit == pytest.approx((1 / 20 + 1) / (1 / 20**2 + 1))


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("library-estimates")
    save_tiny_pipeline(root / MODEL)
    return root


@pytest.fixture
def one_thread():
    """Torch's threads fight other processes for a shared machine's cores: with one, a call's time
    follows its work, which is what the estimate predicts (and what a busy worker's does)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow  # six real jobs on the tiny pipeline
@pytest.mark.django_db
@pytest.mark.usefixtures("one_thread")
def test_small_calls_of_two_sizes_give_a_bigger_job_an_estimate_that_follows_its_work(diffusers_settings, models_folder):
    """The worker's own timings of real small calls (what a queue has before its first bulk job) give
    a bigger job an estimate, larger than a small call's by its work. How close it comes to the time
    the job then takes is a speed figure, measured outside the tests (timing bounds flake under load)."""
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()

    def queued(size: int, steps: int, count: int = 1) -> GenerationJob:
        request = JobRequest(prompt="a garden", width=size, height=size, steps=steps, count=count, model=MODEL)
        return services.create_job(request=request, enqueue=False)

    runner.execute_job(job_id=queued(64, 2).pk, worker="estimates")  # the model loaded
    for size, steps in ((64, 2), (64, 4), (192, 3), (192, 2)):  # an SD client's small calls
        job = runner.execute_job(job_id=queued(size, steps).pk, worker="estimates")
        assert job.status == GenerationJob.Status.SUCCEEDED and job.timings.get("generate", 0) > 0
    small, bulk = queued(64, 2), queued(384, 4, count=2)
    estimates = Estimates()
    speed = estimates.speed(bulk)
    assert speed is not None and speed.per_unit + speed.per_call_step > 0
    assert progress.estimate_seconds(bulk, estimates) > progress.estimate_seconds(small, estimates)
