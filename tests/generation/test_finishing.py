"""A gathered call's finishing (docs/generation.md#gathered-calls): one call's pictures stored with
their verdicts and their jobs finished in one transaction, and a failure anywhere ending or
requeueing each job it touched: none is left running, none is lost. Finished inline here (the
finishing processes of a real worker: tests/live/test_worker.py), but for a process that dies.
"""

import pytest

from garden.services import StorageError
from generation import backends
from generation.models import GenerationJob
from generation.worker import call_finishing, finishing_processes, gathered_run, lifecycle, runner, toolbox
from tests.generation.gather_support import PROMPTS, live_diffusers, live_job, sensitive_dir  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_diffusers")]


@pytest.fixture
def sent(monkeypatch) -> list:
    """Messages re-sent for requeued jobs (no broker here), once the requeue commits (run the
    test's commit callbacks: django_capture_on_commit_callbacks)."""
    messages = []
    monkeypatch.setattr(lifecycle.broker, "enqueue_job", lambda **kwargs: messages.append(kwargs) or True)
    return messages


def store_failing(monkeypatch, failures: dict) -> dict:
    """save_rendered_image raising ``failures[job prompt]`` for those jobs."""
    original = call_finishing.save_rendered_image

    def store_one(*, job, **kwargs):
        if job.prompt in failures:
            raise failures[job.prompt]
        return original(job=job, **kwargs)

    monkeypatch.setattr(call_finishing, "save_rendered_image", store_one)
    return failures


def test_a_failure_in_finishing_requeues_or_fails_that_job_alone(settings, monkeypatch, sent, django_capture_on_commit_callbacks):
    failures = store_failing(
        monkeypatch, {PROMPTS[1]: StorageError("could not write imgPool/…: disk full"), PROMPTS[2]: ValueError("broken picture")}
    )
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    with django_capture_on_commit_callbacks(execute=True):
        leader = runner.execute_job(job_id=jobs[0].pk)
    stored, requeued, failed = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    assert leader.status == "succeeded" and stored.images.count() == 1
    assert (requeued.status, requeued.attempts, requeued.images.count()) == ("queued", 1, 0)
    assert requeued.error.startswith("transient error: StorageError") and sent == [
        {"job_id": requeued.pk, "queue": "live", "background": False}
    ]
    assert (failed.status, failed.error) == ("failed", "ValueError: broken picture")

    # The requeued job's message paints it on the next attempt, once storage works again.
    failures.clear()
    again = runner.execute_job(job_id=requeued.pk)
    assert (again.status, again.attempts, again.images.count()) == ("succeeded", 2, 1)


def test_a_transient_failure_of_the_leader_is_its_tasks_retry(settings, monkeypatch, sent):
    store_failing(monkeypatch, {PROMPTS[0]: StorageError("storage away")})
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
    with pytest.raises(toolbox.TransientJobError, match="StorageError: storage away"):
        runner.execute_job(job_id=jobs[0].pk)
    leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    # Still running: the task requeues it and retries its own message (generation.tasks), as for any job.
    assert leader.status == "running" and lifecycle.requeue_job(job_id=leader.pk, error="StorageError: storage away")
    assert other.status == "succeeded" and sent == []


def test_a_failure_of_the_call_fails_its_jobs_and_leaves_none_running(settings, monkeypatch, sent):
    backend = backends.get_backend("diffusers")

    def broken(batch, *, on_step=None):
        raise RuntimeError("the device fell over")

    monkeypatch.setattr(backend, "generate", broken)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS)]
    leader = runner.execute_job(job_id=jobs[0].pk)
    assert leader.status == "failed" and leader.error == "RuntimeError: the device fell over"
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {"failed"}


def test_a_crash_of_finishing_itself_requeues_its_jobs(settings, monkeypatch, sent, django_capture_on_commit_callbacks):
    def crash(items, description, timings):
        raise MemoryError("finishing died")  # escapes the per-job handling

    monkeypatch.setattr(gathered_run, "finish_call", crash)
    jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(toolbox.TransientJobError, match="interrupted"):
        runner.execute_job(job_id=jobs[0].pk)
    leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
    assert leader.status == "running"  # its task's retry requeues it
    assert other.status == "queued" and sent == [{"job_id": other.pk, "queue": "live", "background": False}]


@pytest.mark.slow
def test_a_finishing_process_that_dies_mid_call_loses_no_job_and_is_replaced(
    settings, monkeypatch, sent, django_capture_on_commit_callbacks
):
    from tests.generation import finishing_support

    monkeypatch.setattr(gathered_run, "finish_call", finishing_support.die)
    processes = finishing_processes.start_processes(1)  # a real finishing process, spawned (it never reaches the test database)
    try:
        jobs = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2])]
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(toolbox.TransientJobError, match="interrupted"):
            runner.execute_job(job_id=jobs[0].pk)
        leader, other = (GenerationJob.objects.get(pk=job.pk) for job in jobs)
        assert leader.status == "running"  # its task's retry requeues it
        assert other.status == "queued" and sent == [{"job_id": other.pk, "queue": "live", "background": False}]
        assert processes.set_number == 1  # a new set was started for the next calls
        assert processes.submit(pow, 2, 5)[0].result(timeout=60) == 32
    finally:
        finishing_processes.stop_processes()
