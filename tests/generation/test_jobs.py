"""Job lifecycle through the services, with the tiny diffusers pipeline loaded from a folder."""

import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image as PILImage

from garden import keys, thumbnails
from garden.models import Image
from garden.services import read_file
from generation import backends, selectors, served_names, services
from generation.imagefile import read_parameters
from generation.models import GenerationJob
from generation.requests import DEFAULT_OTHERS
from generation.worker import lifecycle as worker_lifecycle
from generation.worker import runner, toolbox
from generation.worker import sweeper as worker_sweeper

pytestmark = pytest.mark.django_db


def pixels(image: Image) -> np.ndarray:
    with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int16)


def make_job(created_by=None, **kwargs) -> GenerationJob:
    params = {"emotion": "calm", "width": 64, "height": 64, "steps": 2, "seed": 1234}
    params.update(kwargs)
    return services.create_job(created_by=created_by, request=services.JobRequest(**params), enqueue=False)


def test_compose_prompt_keeps_the_favorite():
    prompt = services.compose_prompt(emotion_text="calm", favorite="spring,cloudy,day", others=None)
    assert prompt == f"calm, spring,cloudy,day, {DEFAULT_OTHERS}"
    assert services.compose_prompt(emotion_text="happy", others="") == "happy"


def test_bulk_plan_is_a_landscape_and_a_portrait_per_index():
    specs = services.plan_images(kind="bulk", count=2, width=1280, height=800, seed=10)
    assert [(s.index, s.orientation, s.width, s.height, s.seed) for s in specs] == [
        (0, "h", 1280, 800, 10),
        (0, "v", 800, 1280, 11),
        (1, "h", 1280, 800, 12),
        (1, "v", 800, 1280, 13),
    ]
    batches = services.plan_batches(specs, batch_size=4)
    assert [[(s.index, s.orientation) for s in batch] for batch in batches] == [[(0, "h"), (1, "h")], [(0, "v"), (1, "v")]]
    assert len(services.plan_batches(specs * 3, batch_size=4)) == 4  # 6 + 6 images in batches of ≤4


def test_bulk_job_defaults_to_the_original_sizes(no_enqueue):
    job = services.create_job(request=services.JobRequest(kind="bulk", emotion="happy/spring,sunny,day", count=10, seed=1), enqueue=False)
    assert (job.width, job.height, job.images_total) == (1280, 800, 20)
    assert job.favorite == "spring,sunny,day"
    assert job.prompt.startswith("happy, spring,sunny,day, flowers")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"width": 100}, "multiple of 8"),
        ({"width": 4096}, "the most this site allows"),
        ({"height": 0}, "multiple of 8"),
        ({"steps": 0}, "steps"),
        ({"count": 0}, "count"),
        ({"emotion": "grumpy"}, "Unknown emotion"),
        ({"backend": "dalle"}, "backend"),
    ],
)
def test_invalid_parameters_are_refused(params, message):
    with pytest.raises(services.JobParameterError, match=message):
        make_job(**params)
    assert not GenerationJob.objects.exists()


def test_job_lifecycle_with_the_diffusers_pipeline(diffusers_settings, django_user_model):
    user = django_user_model.objects.create_user("curator", is_staff=True)
    job = make_job(emotion="calm/spring,cloudy,day", count=3, created_by=user, negative_prompt="blurry")
    assert (job.status, job.backend, job.queue, job.created_by) == ("queued", "diffusers", "gpu", user)
    assert selectors.job_queue_position(job) == 1

    job = runner.execute_job(job_id=job.pk, worker="test")

    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert (job.images_done, job.images_total, job.steps_done, job.steps_total, job.progress) == (3, 3, 2, 2, 1.0)
    assert job.attempts == 1 and job.started_at and job.finished_at and job.heartbeat_at
    assert set(job.timings) == {"load", "generate", "store", "thumbnails"}
    assert job.scheduler == "DDIMScheduler"
    assert selectors.job_queue_position(job) is None
    images = selectors.job_images(job)
    assert [keys.parse_key(image.key).index for image in images] == [0, 1, 2]
    for offset, image in enumerate(images):
        parsed = keys.parse_key(image.key)
        assert (parsed.prefix, parsed.emotion, parsed.favorite, parsed.orientation) == ("imgPool", "calm", "spring,cloudy,day", "h")
        assert parsed.timestr == job.timestr
        assert (image.status, image.width, image.height, image.seed, image.steps, image.guidance) == ("pool", 64, 64, 1234 + offset, 2, 7.5)
        assert (image.generator, image.model_id, image.negative_prompt) == (
            "diffusers",
            str(diffusers_settings.GARDEN_DIFFUSION_MODEL),
            "blurry",
        )
        embedded = read_parameters(read_file(image.key))
        assert embedded["seed"] == image.seed
        assert embedded["prompt"] == job.prompt
        assert embedded["model_id"] == served_names.model_id(image.model_id) == "tiny-sd"  # its name, not its path
        assert (embedded["steps"], embedded["guidance"], embedded["job"]) == (2, 7.5, str(job.pk))
        assert embedded["scheduler"] == "DDIMScheduler" and embedded["dtype"] == "float32"
        assert pixels(image).shape == (64, 64, 3)


def test_images_of_one_size_are_batched(diffusers_settings, monkeypatch):
    diffusers_settings.GARDEN_DIFFUSION_BATCH_SIZE = 2
    backend = backends.get_backend("diffusers")
    calls = []
    original = backend.generate

    def spy(batch, **kwargs):
        calls.append((batch.width, batch.height, list(batch.seeds)))
        return original(batch, **kwargs)

    monkeypatch.setattr(backend, "generate", spy)
    job = runner.execute_job(job_id=make_job(kind="bulk", width=96, height=64, count=3, seed=7).pk)
    assert job.status == "succeeded", job.error
    assert calls == [(96, 64, [7, 9]), (96, 64, [11]), (64, 96, [8, 10]), (64, 96, [12])]
    assert job.steps_total == 4 * 2 and job.images_done == 6
    sizes = {(keys.parse_key(i.key).orientation, i.width, i.height) for i in job.images.all()}
    assert sizes == {("h", 96, 64), ("v", 64, 96)}


def test_seeds_are_reproducible_alone_or_in_a_batch(diffusers_settings):
    batched = runner.execute_job(job_id=make_job(count=3, seed=500).pk)
    again = runner.execute_job(job_id=make_job(count=3, seed=500).pk)
    alone = runner.execute_job(job_id=make_job(count=1, seed=501).pk)
    first, second, single = selectors.job_images(batched), selectors.job_images(again), selectors.job_images(alone)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))
    # Seed 501 made inside a batch of three and alone: the same picture (batched matmuls may
    # differ in the last bits, hence a tolerance far below what another seed gives).
    assert np.abs(pixels(first[1]) - pixels(single[0])).mean() < 1.0
    assert np.abs(pixels(first[0]) - pixels(single[0])).mean() > 5.0
    assert len({image.key for image in [*first, *second]}) == 6  # two jobs, same second, distinct keys


def test_cancel_before_the_run(diffusers_settings):
    job = make_job(count=2)
    job = services.cancel_job(job=job)
    assert job.status == "cancelled" and job.finished_at
    assert services.cancel_job(job=job).status == "cancelled"  # idempotent
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "cancelled" and job.attempts == 0
    assert not Image.objects.exists()


def test_cancel_during_the_run_stops_at_the_next_step(diffusers_settings, monkeypatch):
    diffusers_settings.GARDEN_DIFFUSION_BATCH_SIZE = 1
    job = make_job(count=3, steps=4)
    backend = backends.get_backend("diffusers")
    original, seen = backend.generate, []

    def generate(batch, *, on_step):
        def step(done):
            seen.append(done)
            if done == 2 and len(seen) == 6:  # second image, second step: a curator presses cancel
                services.cancel_job(job=GenerationJob.objects.get(pk=job.pk))
            on_step(done)

        return original(batch, on_step=step)

    monkeypatch.setattr(backend, "generate", generate)
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "cancelled"
    assert seen[-1] == 2  # no step after the one that saw the flag
    assert job.images_done == 1 and job.images.count() == 1
    assert job.steps_done == 4 + 1  # the step that saw the flag was not counted
    assert services.cancel_job(job=job).status == "cancelled"


def test_a_model_that_cannot_be_loaded_fails_the_job_naming_the_setting(diffusers_settings, tmp_path):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(tmp_path / "no-such-model")
    job = runner.execute_job(job_id=make_job().pk)
    assert job.status == "failed"
    assert "GARDEN_DIFFUSION_MODEL" in job.error and "no-such-model" in job.error
    assert not Image.objects.exists()


def test_unknown_hub_id_offline_fails_naming_the_setting(diffusers_settings):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = "nobody/not-a-model"
    job = runner.execute_job(job_id=make_job().pk)
    assert job.status == "failed" and "GARDEN_DIFFUSION_MODEL" in job.error and "GARDEN_HF_OFFLINE" in job.error


def test_the_procedural_painter_behind_the_same_interface():
    job = make_job(backend="procedural", kind="bulk", width=96, height=64, count=1)
    assert job.queue == "default" and job.model_id == "procedural-painter-v1"
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "succeeded" and job.images_done == 2 and job.steps_done == job.steps_total
    portrait = next(i for i in job.images.all() if i.is_portrait)
    assert (portrait.width, portrait.height, read_parameters(read_file(portrait.key))["generator"]) == (64, 96, "procedural")


def test_a_job_makes_the_thumbnails_of_all_its_images(caplog):
    job = runner.execute_job(job_id=make_job(backend="procedural", kind="bulk", width=96, height=64, count=2).pk)
    assert job.status == "succeeded" and job.images_done == 4
    for image in job.images.all():
        assert image.thumbnail_key == thumbnails.thumbnail_key_for(image=image)
        with PILImage.open(io.BytesIO(read_file(image.thumbnail_key))) as thumb:
            assert thumb.format == "WEBP" and max(thumb.size) == 96  # never upscaled past the original
    assert "no thumbnail" not in caplog.text


def test_a_thumbnail_failure_never_fails_the_job(monkeypatch, caplog, media_dir):
    def broken(content):
        raise OSError("thumbnailer exploded")

    monkeypatch.setattr(thumbnails, "render_thumbnail", broken)
    job = runner.execute_job(job_id=make_job(backend="procedural", count=2).pk)
    assert job.status == "succeeded" and job.images_done == 2 and not job.error, job.error
    assert [image.thumbnail_key for image in job.images.all()] == ["", ""]
    assert not (media_dir / "thumbs").exists()
    assert "no thumbnail for imgPool/calm/" in caplog.text and "thumbnailer exploded" in caplog.text
    # The admin's lazy path (and manage.py make_thumbnails) still covers them.
    monkeypatch.undo()
    assert thumbnails.generate_missing_thumbnails() == (2, 0)


def test_a_finished_job_is_not_run_twice(diffusers_settings):
    job = runner.execute_job(job_id=make_job().pk)
    again = runner.execute_job(job_id=job.pk)
    assert again.status == "succeeded" and again.attempts == 1 and Image.objects.count() == 1


def test_transient_errors_are_raised_for_a_retry_and_requeue(diffusers_settings, monkeypatch):
    backend = backends.get_backend("diffusers")

    def out_of_memory(batch, **kwargs):
        raise backends.TransientBackendError("CUDA out of memory")

    monkeypatch.setattr(backend, "generate", out_of_memory)
    job = make_job()
    with pytest.raises(toolbox.TransientJobError, match="out of memory"):
        runner.execute_job(job_id=job.pk)
    assert worker_lifecycle.requeue_job(job_id=job.pk, error="oom")
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 1 and "oom" in job.error


def test_retry_resumes_without_redoing_images(diffusers_settings):
    job = make_job(count=2)
    runner.execute_job(job_id=job.pk)
    GenerationJob.objects.filter(pk=job.pk).update(status="failed")
    job.images.remove(job.images.order_by("key").last())
    job = services.retry_job(job=job)
    assert job.status == "queued"
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "succeeded" and job.images.count() == 2 and Image.objects.count() == 2


def test_the_sweeper_requeues_then_fails_jobs_of_lost_workers(diffusers_settings, no_enqueue):
    job, fresh = make_job(), make_job()
    old = timezone.now() - timedelta(seconds=diffusers_settings.GARDEN_JOB_LEASE_SECONDS + 5)
    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=old)
    GenerationJob.objects.filter(pk=fresh.pk).update(status="running", attempts=1, heartbeat_at=timezone.now())

    assert worker_sweeper.sweep_stale_jobs() == 1
    job.refresh_from_db()
    assert job.status == "queued" and "worker lost" in job.error
    assert GenerationJob.objects.get(pk=fresh.pk).status == "running"

    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=diffusers_settings.GARDEN_JOB_MAX_ATTEMPTS, heartbeat_at=old)
    worker_sweeper.sweep_stale_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "GARDEN_JOB_LEASE_SECONDS" in job.error


def test_a_stale_running_job_can_be_claimed_again_by_a_redelivered_message(diffusers_settings):
    job = make_job()
    old = timezone.now() - timedelta(seconds=diffusers_settings.GARDEN_JOB_LEASE_SECONDS + 5)
    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=old)
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "succeeded" and job.attempts == 2


def test_a_running_job_with_a_live_lease_is_left_alone(diffusers_settings):
    job = make_job()
    GenerationJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=timezone.now())
    job = runner.execute_job(job_id=job.pk)
    assert job.status == "running" and job.attempts == 1


def test_enqueue_happens_on_commit_and_the_task_runs_the_job(diffusers_settings, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = services.create_job(request=services.JobRequest(emotion="sad", width=64, height=64, steps=1, seed=3))
    # The send, then (the eager task having run the job) its end announced.
    assert [callback.func.__name__ for callback in callbacks] == ["send_message", "announce_ids"]
    job.refresh_from_db()
    assert job.status == "succeeded" and job.images_done == 1


# --- Lost messages: the sweeper re-sends long-queued jobs; a duplicate message is a no-op ---------


def _queue(n: int, django_capture_on_commit_callbacks) -> list[GenerationJob]:
    with django_capture_on_commit_callbacks(execute=True):
        return [
            services.create_job(request=services.JobRequest(emotion="calm", width=64, height=64, steps=1, backend="procedural"))
            for _ in range(n)
        ]


def test_the_sweeper_resends_jobs_queued_too_long(settings, no_enqueue, django_capture_on_commit_callbacks, caplog):
    settings.GARDEN_JOB_REQUEUE_AFTER_SECONDS = 1800
    lost, waiting, cancelled, legacy = _queue(4, django_capture_on_commit_callbacks)
    assert len(no_enqueue) == 4 and all(job.enqueued_at for job in (lost, waiting, cancelled, legacy))
    no_enqueue.clear()
    long_ago = timezone.now() - timedelta(seconds=1801)
    GenerationJob.objects.filter(pk__in=[lost.pk, cancelled.pk]).update(created_at=long_ago, enqueued_at=long_ago)
    GenerationJob.objects.filter(pk=legacy.pk).update(created_at=long_ago, enqueued_at=None)  # a row from before enqueued_at
    services.cancel_job(job=cancelled)

    with django_capture_on_commit_callbacks(execute=True):
        assert worker_sweeper.sweep_stale_jobs() == 2
    assert sorted(no_enqueue) == sorted([(str(lost.pk), "default"), (str(legacy.pk), "default")])
    for job in (lost, legacy):
        job.refresh_from_db()
        assert (job.status, job.resends, job.attempts) == ("queued", 1, 0)
        assert job.enqueued_at > long_ago
    assert GenerationJob.objects.get(pk=waiting.pk).resends == 0
    assert GenerationJob.objects.get(pk=cancelled.pk).resends == 0  # cancelled: never sent again
    assert f"generation job {lost.pk}: queued without a start" in caplog.text and "re-send #1" in caplog.text

    # Not again until another GARDEN_JOB_REQUEUE_AFTER_SECONDS has passed since that send.
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_sweeper.sweep_stale_jobs() == 0
    assert len(no_enqueue) == 2
    GenerationJob.objects.filter(pk=lost.pk).update(enqueued_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_sweeper.sweep_stale_jobs() == 1
    assert no_enqueue[-1] == (str(lost.pk), "default") and GenerationJob.objects.get(pk=lost.pk).resends == 2

    # 0 turns re-sending off.
    settings.GARDEN_JOB_REQUEUE_AFTER_SECONDS = 0
    GenerationJob.objects.filter(pk=lost.pk).update(enqueued_at=long_ago)
    assert worker_sweeper.sweep_stale_jobs() == 0


def test_a_cancelled_queued_job_is_never_resent(settings, no_enqueue, django_capture_on_commit_callbacks):
    (job,) = _queue(1, django_capture_on_commit_callbacks)
    services.cancel_job(job=job)
    GenerationJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=30), enqueued_at=None)
    no_enqueue.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert worker_sweeper.sweep_stale_jobs() == 0
    assert no_enqueue == [] and GenerationJob.objects.get(pk=job.pk).status == "cancelled"


def test_delivering_the_same_job_twice_runs_it_once(no_enqueue, django_capture_on_commit_callbacks):
    from generation.tasks import run_generation_job

    (job,) = _queue(1, django_capture_on_commit_callbacks)
    run_generation_job.apply(args=[str(job.pk)]).get()  # the first message
    run_generation_job.apply(args=[str(job.pk)]).get()  # the duplicate (a re-send): dropped
    job.refresh_from_db()
    assert (job.status, job.attempts, job.images_done) == ("succeeded", 1, 1)
    assert Image.objects.count() == 1


def test_a_duplicate_delivered_while_the_job_runs_does_not_run_it(monkeypatch):
    backend = backends.get_backend("procedural")
    generate = backend.generate
    seen = []

    def generate_and_deliver_a_duplicate(batch, **kwargs):
        seen.append(runner.execute_job(job_id=job.pk, worker="second"))
        return generate(batch, **kwargs)

    monkeypatch.setattr(backend, "generate", generate_and_deliver_a_duplicate)
    job = make_job(backend="procedural")
    job = runner.execute_job(job_id=job.pk, worker="first")
    (duplicate,) = seen
    assert (duplicate.status, duplicate.attempts, duplicate.worker) == ("running", 1, "first")  # found claimed: nothing run
    assert (job.status, job.attempts, job.images_done, job.worker) == ("succeeded", 1, 1, "first")
    assert Image.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_job_have_one_winner():
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    job = make_job(backend="procedural")
    threads = 8
    barrier, won = threading.Barrier(threads), []

    def deliver(n):
        try:
            barrier.wait()
            won.append(worker_lifecycle.claim_job(job_id=job.pk, worker=f"w{n}"))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=deliver, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    winners = [claimed for claimed in won if claimed is not None]
    assert len(won) == threads and len(winners) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("running", 1, winners[0].worker)


def test_demo_seed_images_get_their_thumbnail_at_creation(media_dir):
    from django.core.files.storage import default_storage

    from generation.services import paint_procedural_image

    image = paint_procedural_image(emotion="calm", favorite="", seed=1, width=64, height=40, index=0, serving=True)
    image.refresh_from_db()
    assert image.thumbnail_key.startswith("thumbs/") and default_storage.exists(image.thumbnail_key)
