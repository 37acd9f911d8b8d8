"""Progress that tells the truth (docs/models.md → Progress): the loading stage names the model, the
stage after the last step is "finishing" (decode, check, store), the estimate comes from the
worker's recent speed, the bulk form starts from the chosen model's defaults, and the jobs list
names the model. A tiny random-weight pipeline paints (testkit/tiny_pipeline.py)."""

from __future__ import annotations

import time

import pytest

from curation.forms import BulkGenerationForm
from generation import progress, served_names, services
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.serializers import JobSerializer
from generation.worker import runner
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.tiny_library import PIPELINES
from testkit.tiny_pipeline import save_tiny_pipeline

pytestmark = pytest.mark.django_db
MODEL = PIPELINES[0]


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("library-progress")
    save_tiny_pipeline(root / MODEL)
    return root


@pytest.fixture
def library_settings(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE).update(default_steps=3, default_guidance=4.5)
    return diffusers_settings


def test_the_stages_of_a_job_and_no_path_in_its_answer(library_settings, monkeypatch, models_folder):
    seen = {}
    get_backend = runner.backends.get_backend

    def unloaded_backend(*args, **kwargs):
        backend = get_backend(*args, **kwargs)
        backend.pipeline = None  # as on a worker that has not loaded this model yet
        load = backend.load

        def watched_load():
            job = GenerationJob.objects.get()
            seen.setdefault("loading", (progress.stage(job), progress.stage_text(job)))
            load()

        monkeypatch.setattr(backend, "load", watched_load)
        return backend

    store = runner.store_generated_image

    def watched_store(*, job, **kwargs):
        seen.setdefault("storing", progress.stage(GenerationJob.objects.get(pk=job.pk)))
        return store(job=job, **kwargs)

    monkeypatch.setattr(runner.backends, "get_backend", unloaded_backend)
    monkeypatch.setattr(runner, "store_generated_image", watched_store)
    job = services.create_job(request=JobRequest(prompt="a garden", width=64, height=64, model=MODEL), enqueue=False)
    assert progress.stage(job) == "queued"
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert seen["loading"] == ("loading", f"Loading the model {MODEL}")
    assert seen["storing"] == "finishing"  # after the last step: decode, check, store (not "100 % running")
    assert (job.steps, job.guidance) == (3, 4.5)  # the model's defaults
    answer = JobSerializer(job).data
    assert answer["stage"] == "succeeded" and answer["estimate_seconds"] is None
    assert str(models_folder) not in str(answer) and answer["model_id"] == MODEL == served_names.model_id(job.model_id)


@pytest.mark.slow  # two jobs on the tiny pipeline, one of them loading it
def test_only_a_real_load_is_timed(library_settings, monkeypatch):
    """The next load's estimate comes from these timings: a model already loaded must not count as a 0 s load."""
    get_backend = runner.backends.get_backend
    unloaded = []

    def first_unloaded(*args, **kwargs):
        backend = get_backend(*args, **kwargs)
        if not unloaded:
            backend.pipeline = None  # as on a worker that has not loaded this model yet
            unloaded.append(backend)
        load = backend.load

        def slow_call():  # the call itself takes time (a busy worker), loaded or not: only a load counts
            time.sleep(0.02)
            load()

        monkeypatch.setattr(backend, "load", slow_call)
        return backend

    monkeypatch.setattr(runner.backends, "get_backend", first_unloaded)
    timed = []
    for _ in range(2):
        job = services.create_job(request=JobRequest(prompt="a garden", width=64, height=64, model=MODEL), enqueue=False)
        timed.append(runner.execute_job(job_id=job.pk, worker="test").timings["load"])
    assert timed[0] >= 0.02 and timed[1] == 0.0


def test_the_estimate_comes_from_the_workers_recent_speed(library_settings):
    def job(**fields) -> GenerationJob:
        request = JobRequest(prompt="a garden", width=512, height=512, steps=10, count=2, model=MODEL)
        made = services.create_job(request=request, enqueue=False)
        GenerationJob.objects.filter(pk=made.pk).update(**fields)
        made.refresh_from_db()
        return made

    running = job(status=GenerationJob.Status.RUNNING, worker="w1", steps_done=5, stage=GenerationJob.Stage.PAINTING)
    assert progress.estimate_seconds(running) is None  # no recent job: no estimate
    # w1's recent job: 20 steps x 0.262144 MP x 2 pictures in 10.48576 s = 1 s per MP-picture step; 1 s storing each.
    job(status=GenerationJob.Status.SUCCEEDED, worker="w1", steps=20, timings={"generate": 10.48576, "store": 2.0})
    job(status=GenerationJob.Status.SUCCEEDED, worker="w2", steps=20, timings={"generate": 99.0, "store": 9.0})
    # Left: half of 10 x 0.262144 x 2 MP-picture steps at 1 s, and 2 pictures to store at 1 s.
    assert progress.estimate_seconds(running) == round(2.62144 + 2)
    assert progress.stage_text(running) == "Painting"
    GenerationJob.objects.filter(pk=running.pk).update(status=GenerationJob.Status.RUNNING, steps_done=running.steps_total)
    running.refresh_from_db()
    assert progress.stage(running) == "finishing"


def test_the_bulk_form_starts_from_the_models_defaults_and_the_list_names_the_model(library_settings, admin_client):
    form = BulkGenerationForm()
    assert (form.fields["steps"].initial, form.fields["guidance"].initial) == (3, 4.5)
    assert f'"{MODEL}": {{"steps": 3, "guidance": 4.5}}' in form.fields["model"].widget.attrs["data-defaults"]
    data = {"emotion": ["happy"], "repeat_count": 1, "resolution": "768x512", "backend": "diffusers", "model": MODEL}
    filled = BulkGenerationForm(data)
    assert filled.is_valid(), filled.errors
    [request] = filled.job_requests()
    assert request.steps is None and request.validate().steps == 3  # empty: the chosen model's default

    services.create_job(request=JobRequest(prompt="a garden", width=64, height=64, model=MODEL), enqueue=False)
    page = admin_client.get("/admin/generation/generationjob/")
    assert page.status_code == 200 and f'<td class="field-model_name">{MODEL}</td>' in page.content.decode()
