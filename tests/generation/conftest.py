"""Fixtures for generation tests: the tiny pipeline (built once per session) and settings for it."""

from pathlib import Path

import pytest

from tests.generation.tiny_pipeline import save_tiny_pipeline


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A saved random-weight Stable Diffusion pipeline, loaded like any local model folder."""
    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def diffusers_settings(settings, tiny_model_dir):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    settings.GARDEN_DIFFUSION_MODEL = str(tiny_model_dir)
    settings.GARDEN_DIFFUSION_DEVICE = "cpu"
    settings.GARDEN_DIFFUSION_SCHEDULER = "default"
    settings.GARDEN_DIFFUSION_COMPILE = False
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    settings.GARDEN_HF_OFFLINE = True
    settings.GARDEN_DEFAULT_STEPS = 2
    return settings


@pytest.fixture
def eager_celery():
    """Run tasks inline (the Celery app reads its conf once, so patch the app, not settings)."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def no_enqueue(monkeypatch):
    """Record enqueued job ids instead of sending them to a broker."""
    sent = []
    monkeypatch.setattr("generation.services.enqueue_job", lambda *, job_id, queue: sent.append((str(job_id), queue)))
    return sent
