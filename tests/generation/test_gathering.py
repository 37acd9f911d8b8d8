"""Jobs painted together: one pipeline call for the gatherable jobs queued together, each picture
the one its job gets alone, and each job its own outcome (docs/generation.md#gathered-calls).

The tiny prompt-sensitive pipeline (testkit/tiny_models.py): a prompt changes its picture.
"""

import numpy as np
import pytest

from garden.models import Image
from generation import backends, services
from generation.backends import Batch, conditioning
from generation.models import GenerationJob
from generation.worker import gathering, lifecycle, runner
from tests.generation.gather_support import (  # noqa: F401 (fixtures)
    LONG_PROMPT,
    PIXEL_TOLERANCE,
    PROMPTS,
    live_diffusers,
    live_job,
    pixels,
    record_calls,
    sensitive_dir,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_diffusers")]


def test_requests_queued_together_share_one_call_and_each_picture_is_the_one_it_gets_alone(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS, start=10)]
    leader = runner.execute_job(job_id=jobs[0].pk)
    assert leader.status == "succeeded"
    [call] = calls  # the three in ONE call, each with its own prompt and seed
    assert call["seeds"] == [10, 11, 12] and call["prompts"] == list(PROMPTS)
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.images_done, job.images.count()) == ("succeeded", 1, 1)
        assert job.images.get().prompt == job.prompt and job.model_id == settings.GARDEN_DIFFUSION_MODEL
    batched = call["pictures"]

    settings.GARDEN_GATHER_SIZE = 1  # the same requests, one call each
    alone = []
    for seed, prompt in enumerate(PROMPTS, start=10):
        runner.execute_job(job_id=live_job(prompt, seed=seed).pk)
        alone.append(calls[-1]["pictures"][0])
    assert len(calls) == 4
    for together, single in zip(batched, alone, strict=True):
        assert np.abs(pixels(together) - pixels(single)).max() <= PIXEL_TOLERANCE
    # and the prompts matter: the pictures differ from each other
    assert np.abs(pixels(alone[0]) - pixels(alone[1])).max() > 10


def test_prompts_of_different_lengths_are_painted_in_calls_of_their_shape(settings):
    backend = backends.get_backend("diffusers")
    backend.load()
    prompts = [PROMPTS[0], LONG_PROMPT, PROMPTS[1]]
    batch = Batch(
        prompt=prompts[0], negative_prompt="", width=64, height=64, steps=2, guidance=5.0, seeds=[3, 4, 5], extra={"prompts": prompts}
    )
    assert conditioning.prompt_groups(backend.pipeline, batch) == [[0, 2], [1]]
    steps = []
    together = backend.generate(batch, on_step=steps.append)
    assert steps[-1] == 2 and steps == sorted(steps)  # progress spans both calls
    for prompt, seed, picture in zip(prompts, batch.seeds, together, strict=True):
        [single] = backend.generate(Batch(prompt=prompt, negative_prompt="", width=64, height=64, steps=2, guidance=5.0, seeds=[seed]))
        assert np.abs(pixels(picture) - pixels(single)).max() <= PIXEL_TOLERANCE


def test_requests_with_other_parameters_go_in_other_calls(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    jobs = [live_job(seed=1), live_job(seed=2, steps=3), live_job(seed=3), live_job(seed=4, size=128), live_job(seed=5, guidance=2.0)]
    for job in jobs:  # each job's message, as a worker takes them (a run may end before the queue is empty)
        runner.execute_job(job_id=job.pk)
    assert sorted(call["seeds"] for call in calls) == [[1, 3], [2], [4], [5]]
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_gathering_waits_for_nothing_and_takes_only_what_is_queued(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    runner.execute_job(job_id=live_job(seed=1).pk)  # nothing else queued: the call goes at once
    assert [call["seeds"] for call in calls] == [[1]]
    leader = lifecycle.claim_job(job_id=live_job(seed=2).pk, worker="w")
    queued = live_job(PROMPTS[1], seed=3)
    assert [job.seed for job in gathering.gather(leader, worker="w")] == [2, 3]
    assert GenerationJob.objects.get(pk=queued.pk).status == "running"


def test_one_step_jobs_are_gathered_and_other_jobs_run_alone(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    request = dict(emotion="calm", width=64, height=64, count=1)
    one_step = [
        services.create_job(request=services.JobRequest(prompt=p, steps=1, seed=s, **request), enqueue=False) for s, p in enumerate(PROMPTS)
    ]
    several = services.create_job(request=services.JobRequest(prompt=PROMPTS[0], steps=2, seed=9, **request), enqueue=False)
    assert [gathering.gatherable(job) for job in (*one_step, several)] == [True, True, True, False]
    runner.execute_job(job_id=one_step[0].pk)
    assert [call["seeds"] for call in calls] == [[0, 1, 2]]  # a bulk of single SD-Turbo pictures gains as live ones do
    for job in one_step:
        job.refresh_from_db()
        [image] = job.images.all()
        assert job.status == "succeeded" and image.thumbnail_key  # not live: its thumbnail, as the ordinary path makes it
    runner.execute_job(job_id=several.pk)
    assert len(calls) == 2 and calls[1]["seeds"] == [9]


def test_a_request_cancelled_during_the_call_is_dropped_and_the_others_are_painted(settings, monkeypatch):
    settings.GARDEN_GATHER_PROGRESS_SECONDS = 0
    backend = backends.get_backend("diffusers")
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    original = backend.generate

    def generate(batch, *, on_step=None):
        def step(done):
            if done == 1:
                services.cancel_job(job=jobs[1])  # the visitor left mid-call
            on_step(done)

        return original(batch, on_step=step)

    monkeypatch.setattr(backend, "generate", generate)
    runner.execute_job(job_id=jobs[0].pk)
    statuses = [GenerationJob.objects.get(pk=job.pk).status for job in jobs]
    assert statuses == ["succeeded", "cancelled", "succeeded"]
    assert Image.objects.count() == 2 and not GenerationJob.objects.get(pk=jobs[1].pk).images.exists()


def test_a_picture_flagged_in_a_batch_is_withheld_only_for_its_request(settings, monkeypatch):
    from live.selectors import live_status

    backend = backends.get_backend("diffusers")
    backend.load()
    monkeypatch.setattr(backend, "safety_flags", lambda pictures: [None, True, None][: len(pictures)])  # the model's own checker
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    runner.execute_job(job_id=jobs[0].pk)
    verdicts = [GenerationJob.objects.get(pk=job.pk).images.get().safety_verdict for job in jobs]
    assert verdicts == [Image.Safety.PASSED, Image.Safety.FLAGGED, Image.Safety.PASSED]
    shown = [live_status(GenerationJob.objects.get(pk=job.pk)) for job in jobs]
    assert [(status.image is not None, status.withheld) for status in shown] == [(True, False), (False, True), (True, False)]


def test_a_job_taken_into_another_run_is_painted_once(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    first, second = live_job(seed=1), live_job(seed=2)
    runner.execute_job(job_id=first.pk)
    again = runner.execute_job(job_id=second.pk)  # its own message, delivered after the batch painted it
    assert again.status == "succeeded" and len(calls) == 1 and again.images.count() == 1


def test_the_procedural_painter_shares_calls_only_within_a_search_key(settings, monkeypatch):
    settings.GARDEN_GATHER_SIZE = 8
    backend = backends.get_backend("procedural")
    original, calls = backend.generate, []
    monkeypatch.setattr(backend, "generate", lambda batch, on_step=None: calls.append(batch.seeds) or original(batch, on_step=on_step))
    jobs = [live_job(seed=seed, backend="procedural", emotion=emotion) for seed, emotion in ((1, "happy"), (2, "happy"), (3, "calm"))]
    runner.execute_job(job_id=jobs[0].pk)
    assert sorted(calls) == [[1, 2], [3]]
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {"succeeded"}
