"""The live worker's two stages (docs/live.md#the-live-worker): the post stage stores one call's
pictures on its own thread while the paint loop paints the next call, and a failure in either stage
ends or requeues each job it touched: none is left running, none is lost.

The post stage runs on a thread with its own database connection (one test: a pool process), as in
a worker: committed rows (``transaction=True``).
"""

import os
import threading
import time

import pytest

from garden.services import StorageError
from generation import backends, services, worker_api
from generation.models import GenerationJob
from live.worker import stage
from tests.live.batch_support import PROMPTS, live_diffusers, live_job, record_calls, sensitive_dir  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_diffusers")]


@pytest.fixture(autouse=True)
def stage_two_connection():
    """The post-stage thread keeps its database connection between runs: closed before the test database goes."""
    yield
    stage.release()


@pytest.fixture
def sent(monkeypatch) -> list:
    """Messages re-sent for requeued jobs (no broker here)."""
    messages = []
    monkeypatch.setattr(worker_api, "enqueue_job", lambda **kwargs: messages.append(kwargs) or True)
    return messages


def store_failing(monkeypatch, failures: dict) -> dict:
    """save_rendered_image (generation.worker_api) raising ``failures[job prompt]`` for those jobs."""
    original = worker_api.save_rendered_image

    def store_one(*, job, **kwargs):
        if job.prompt in failures:
            raise failures[job.prompt]
        return original(job=job, **kwargs)

    monkeypatch.setattr(worker_api, "save_rendered_image", store_one)
    return failures


def test_stage_two_stores_one_call_while_stage_one_paints_the_next(settings, monkeypatch):
    calls = record_calls(monkeypatch)
    backend = backends.get_backend("diffusers")
    painting, original_generate = [], backend.generate

    def generate(batch, *, on_step=None):
        painting.append((time.monotonic(), threading.current_thread().name))
        return original_generate(batch, on_step=on_step)

    monkeypatch.setattr(backend, "generate", generate)
    storing, original_store = [], worker_api.render_generated_image

    def slow_store(**kwargs):
        started = time.monotonic()
        time.sleep(1.0)  # longer than the next call's start
        stored = original_store(**kwargs)
        storing.append((started, time.monotonic(), threading.current_thread().name))
        return stored

    monkeypatch.setattr(worker_api, "render_generated_image", slow_store)
    first, second = live_job(seed=1, steps=2), live_job(seed=2, steps=3)  # two calls: other steps
    leader = services.execute_job(job_id=first.pk, overlap=True)
    assert leader.status == "succeeded" and GenerationJob.objects.get(pk=second.pk).status == "succeeded"
    assert len(calls) == 2 and len(storing) == 2
    (call_2, stage_1), (store_1_end, stage_2) = painting[1], storing[0][1:]
    assert call_2 < store_1_end  # the second call started before the first picture was stored
    assert stage_1 == threading.current_thread().name and stage_2 == "live-post-stage"


def test_a_failure_in_stage_two_requeues_or_fails_that_job_alone(settings, monkeypatch, sent):
    failures = store_failing(
        monkeypatch, {PROMPTS[1]: StorageError("could not write imgPool/…: disk full"), PROMPTS[2]: ValueError("broken picture")}
    )
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    leader = services.execute_job(job_id=jobs[0].pk, overlap=True)
    stored, requeued, failed = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    assert leader.status == "succeeded" and stored.images.count() == 1
    assert (requeued.status, requeued.attempts, requeued.images.count()) == ("queued", 1, 0)
    assert requeued.error.startswith("retrying after: StorageError") and sent == [
        {"job_id": requeued.pk, "queue": "live", "background": False}
    ]
    assert (failed.status, failed.error) == ("failed", "ValueError: broken picture")

    # The requeued job's message paints it on the next attempt, once storage works again.
    failures.clear()
    again = services.execute_job(job_id=requeued.pk)
    assert (again.status, again.attempts, again.images.count()) == ("succeeded", 2, 1)


def test_a_transient_failure_of_the_leader_is_its_tasks_retry(settings, monkeypatch, sent):
    store_failing(monkeypatch, {PROMPTS[0]: StorageError("storage away")})
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
    with pytest.raises(worker_api.TransientJobError, match="StorageError: storage away"):
        services.execute_job(job_id=jobs[0].pk, overlap=True)
    leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    # Still running: the task requeues it and retries its own message (generation.tasks), as for any job.
    assert leader.status == "running" and services.requeue_job(job_id=leader.pk, error="StorageError: storage away")
    assert other.status == "succeeded" and sent == []


def test_a_failure_in_stage_one_fails_the_calls_jobs_and_leaves_none_running(settings, monkeypatch, sent):
    backend = backends.get_backend("diffusers")

    def broken(batch, *, on_step=None):
        raise RuntimeError("the device fell over")

    monkeypatch.setattr(backend, "generate", broken)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    leader = services.execute_job(job_id=jobs[0].pk, overlap=True)
    assert leader.status == "failed" and leader.error == "RuntimeError: the device fell over"
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {"failed"}


def test_a_crash_of_the_post_stage_itself_requeues_its_jobs(settings, monkeypatch, sent):
    def crash(items, description, timings):
        raise MemoryError("the post stage died")  # escapes the per-job handling

    monkeypatch.setattr(stage, "target", crash)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
    with pytest.raises(worker_api.TransientJobError, match="interrupted"):
        services.execute_job(job_id=jobs[0].pk, overlap=True)
    leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    assert leader.status == "running"  # its task's retry requeues it
    assert other.status == "queued" and sent == [{"job_id": other.pk, "queue": "live", "background": False}]


def test_a_pool_process_that_dies_mid_call_loses_no_job(settings, monkeypatch, sent):
    from tests.live import pool_support

    settings.GARDEN_LIVE_POST_PROCESSES = 1  # a real pool of spawned processes
    monkeypatch.setattr(stage, "target", pool_support.die)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
    try:
        with pytest.raises(worker_api.TransientJobError, match="interrupted"):
            services.execute_job(job_id=jobs[0].pk, overlap=True)
        leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
        assert leader.status == "running"  # its task's retry requeues it
        assert other.status == "queued" and sent == [{"job_id": other.pk, "queue": "live", "background": False}]
        assert os.getpid() not in stage._pools  # the broken pool is dropped: the next run starts a new one
    finally:
        stage.shutdown()
