"""Live jobs on the tiny prompt-sensitive pipeline (testkit/tiny_models.py), for the tests of
gathered calls and their finishing."""

import numpy as np
import pytest

from generation import backends, services
from generation.backends import conditioning
from generation.models import GenerationJob
from testkit.tiny_models import save_sensitive_pipeline

PROMPTS = ("a red cat on a hill", "a dog in the rain", "flowers at sunset")
LONG_PROMPT = "a garden of red flowers under a low sun, " * 3  # over one 75-token window (the tiny tokenizer: a token a character)
# The same seed gives the same picture in a batch as alone, up to the float rounding of a larger matrix product.
PIXEL_TOLERANCE = 2


@pytest.fixture(scope="module")
def sensitive_dir(tmp_path_factory):
    return save_sensitive_pipeline(tmp_path_factory.mktemp("models") / "tiny-sensitive-sd")


@pytest.fixture
def live_diffusers(settings, sensitive_dir):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    settings.GARDEN_DIFFUSION_MODEL = str(sensitive_dir)
    settings.GARDEN_DIFFUSION_DEVICE = "cpu"
    settings.GARDEN_DIFFUSION_SCHEDULER = "default"
    settings.GARDEN_DIFFUSION_COMPILE = False
    settings.GARDEN_HF_OFFLINE = True
    settings.GARDEN_GATHER_SIZE = 8
    settings.GARDEN_GATHER_PROGRESS_SECONDS = 0.25
    return settings


def live_job(prompt: str = PROMPTS[0], *, seed: int = 1, steps: int = 2, size: int = 64, emotion: str = "happy", **params) -> GenerationJob:
    request = services.JobRequest(prompt=prompt, emotion=emotion, width=size, height=size, steps=steps, seed=seed, count=1, **params)
    return services.create_job(request=request, enqueue=False, queue="live", live=True)


def record_calls(monkeypatch) -> list[dict]:
    """Each pipeline call of the live backend: its seeds, prompts and pictures."""
    backend = backends.get_backend("diffusers")
    original, calls = backend.generate, []

    def generate(batch, *, on_step=None):
        pictures = original(batch, on_step=on_step)
        calls.append({"seeds": list(batch.seeds), "prompts": conditioning.batch_prompts(batch), "pictures": pictures})
        return pictures

    monkeypatch.setattr(backend, "generate", generate)
    return calls


def pixels(picture) -> np.ndarray:
    return np.asarray(picture, dtype=np.int16)
