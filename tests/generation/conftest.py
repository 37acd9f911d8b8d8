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
