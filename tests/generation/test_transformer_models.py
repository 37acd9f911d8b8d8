"""Transformer-family pipelines (Flux, SD3, PixArt-alpha) paint through real jobs: tiny random-weight pipelines of
the pinned diffusers (tests/generation/tiny_transformers.py) in the model library, a LoRA on the
Flux transformer, variation seeds from the latents' own shape (Flux's packed ones too), and what
they cannot do refused by name, never an AttributeError per job."""

from __future__ import annotations

import io
import re
import sys
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from garden.services import read_file
from generation import backends, selectors, services
from generation.backends.diffusion import choose_dtype, is_transformer_model
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.worker import runner
from library.services import entries as library_services
from tests.generation.tiny_transformers import (
    save_tiny_flux_lora,
    save_tiny_flux_pipeline,
    save_tiny_pixart_pipeline,
    save_tiny_sd3_pipeline,
)

pytestmark = pytest.mark.django_db
FLUX, SD3, PIXART, FLUX_LORA = "tiny-flux", "tiny-sd3", "tiny-pixart", "tiny-flux-ink"


@pytest.fixture(scope="session")
def transformer_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("transformer-library")
    save_tiny_flux_pipeline(root / FLUX)
    save_tiny_sd3_pipeline(root / SD3)
    save_tiny_pixart_pipeline(root / PIXART)
    save_tiny_flux_lora(root / "loras" / f"{FLUX_LORA}.safetensors")
    return root


@pytest.fixture
def flux_settings(diffusers_settings, transformer_models):
    diffusers_settings.GARDEN_MODELS_DIR = str(transformer_models)
    diffusers_settings.GARDEN_DIFFUSION_MAX_LOADED = 2
    library_services.scan()
    return diffusers_settings


def pixels(job: GenerationJob) -> list[np.ndarray]:
    found = []
    for image in selectors.job_images(job):
        with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
            found.append(np.asarray(picture.convert("RGB"), dtype=np.int16))
    return found


def run_job(**params) -> GenerationJob:
    request = {"prompt": "a garden of glass flowers", "width": 64, "height": 64, "steps": 2, "seed": 77, "model": FLUX, **params}
    job = services.create_job(request=JobRequest(**request), enqueue=False)
    return runner.execute_job(job_id=job.pk, worker="test")


def painted(**params) -> list[np.ndarray]:
    job = run_job(**params)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return pixels(job)


def test_flux_paints_through_a_job_and_a_lora_on_its_transformer_changes_the_picture(flux_settings):
    plain = painted()
    assert plain[0].shape == (64, 64, 3) and plain[0].std() > 0
    backend = backends.get_backend(backends.DIFFUSERS, model=str(flux_settings.GARDEN_MODELS_DIR) + f"/{FLUX}")
    assert type(backend.pipeline).__name__ == "FluxPipeline"
    assert backend.dtype_name == "float32"  # auto on a CPU

    with_lora = painted(prompt=f"a garden of glass flowers <lora:{FLUX_LORA}:1>")
    assert not np.array_equal(plain[0], with_lora[0])
    assert backend.pipeline.transformer.peft_config  # the adapter sits on the transformer
    assert np.array_equal(painted()[0], plain[0])  # switched off after its job


def test_a_flux_variation_seed_is_drawn_packed_as_flux_draws_its_noise(flux_settings):
    """At strength 1 the picture is the subseed's own: the noise was drawn (shape, dtype, order) and
    packed into 2x2 patches exactly as FluxPipeline.prepare_latents does; in between, a third picture."""
    own = painted(seed=5)[0]
    assert np.array_equal(painted(seed=77, subseed=5, subseed_strength=1.0)[0], own)
    halfway = painted(seed=77, subseed=5, subseed_strength=0.5)[0]
    assert not np.array_equal(halfway, own) and not np.array_equal(halfway, painted()[0])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prompt": "a (red:1.4) flower"}, r"Prompt weights .* FluxPipeline would read them as plain text"),
        ({"clip_skip": 2}, r"CLIP skip .* does not apply to FluxPipeline"),
        ({"sampler": "euler"}, r"Sampler 'euler' is for UNet models .* tiny-flux is a flow-matching model"),
    ],
)
def test_what_flux_cannot_do_fails_its_job_naming_it(flux_settings, transformer_models, params, message):
    # Asked of the library's Flux, these are 400s (test_what_a_transformer_model_cannot_take_…); as
    # GARDEN_DIFFUSION_MODEL the model has no family until the worker loads it, which refuses them.
    flux_settings.GARDEN_MODELS_DIR = ""
    flux_settings.GARDEN_DIFFUSION_MODEL = str(transformer_models / FLUX)
    job = run_job(**params, model="")
    assert job.status == GenerationJob.Status.FAILED and job.attempts == 1
    assert "AttributeError" not in job.error
    assert re.search(message, job.error), job.error


def test_sd3_paints_through_a_job_and_its_variation_seeds_follow_its_latents(flux_settings):
    own = painted(model=SD3, seed=5)[0]
    assert own.shape == (64, 64, 3) and own.std() > 0
    assert np.array_equal(painted(model=SD3, seed=77, subseed=5, subseed_strength=1.0)[0], own)
    assert not np.array_equal(painted(model=SD3, seed=5, clip_skip=2)[0], own)  # SD3's own clip_skip takes it


def test_pixart_paints_through_a_job_and_refuses_a_lora_and_a_variation_seed_by_name(flux_settings, transformer_models):
    own = painted(model=PIXART, seed=5)[0]
    assert own.shape == (64, 64, 3) and own.std() > 0  # painted at its 256² bin, resized to the job's size
    # The library knows its family: refused when asked (a 400 naming the field).
    for params, field in (
        ({"prompt": f"a red flower <lora:{FLUX_LORA}:1>"}, "loras"),
        ({"subseed": 5, "subseed_strength": 0.5}, "subseed_strength"),
    ):
        with pytest.raises(JobParameterError) as caught:
            run_job(model=PIXART, **params)
        assert set(caught.value.fields) == {field}
    # As GARDEN_DIFFUSION_MODEL it has no family until the worker loads it, which refuses by name.
    flux_settings.GARDEN_MODELS_DIR = ""
    flux_settings.GARDEN_DIFFUSION_MODEL = str(transformer_models / PIXART)
    job = run_job(model="", subseed=5, subseed_strength=0.5)
    assert job.status == GenerationJob.Status.FAILED and job.attempts == 1
    assert re.search(r"variation seed .* does not apply to PixArtAlphaPipeline: .* resolution bins", job.error), job.error


def test_transformer_families_default_to_bf16_on_cuda_and_fp32_on_a_cpu(transformer_models, tiny_model_dir):
    import diffusers

    assert is_transformer_model(diffusers, str(transformer_models / FLUX))
    assert is_transformer_model(diffusers, str(transformer_models / SD3))
    assert is_transformer_model(diffusers, str(transformer_models / PIXART))
    assert not is_transformer_model(diffusers, str(tiny_model_dir))
    assert choose_dtype("auto", "cuda", transformer=True) == "bf16"
    assert choose_dtype("auto", "cuda:1", transformer=False) == "fp16"
    assert choose_dtype("auto", "cpu", transformer=True) == "fp32"
    assert choose_dtype("fp16", "cuda", transformer=True) == "fp16"  # an explicit choice stands (with a warning)


@pytest.mark.slow
def test_a_real_worker_paints_flux_with_a_lora_as_the_job_path_does_here(flux_settings, tmp_path, transformer_models, tiny_model_dir):
    """A Celery worker process (filesystem broker, its own database) paints the Flux model of its
    library with the LoRA on its transformer: the same pixels as that job in this process, and not
    those of the same job without the LoRA."""
    from tests.generation.test_worker import Garden

    prompt, lora = "a red flower", f"{FLUX_LORA}:1"
    here_plain = painted(prompt=prompt, seed=9)[0]
    here_lora = painted(prompt=f"{prompt} <lora:{lora}>", seed=9)[0]
    garden = Garden(tmp_path / "worker", "filesystem://", tiny_model_dir, GARDEN_MODELS_DIR=str(transformer_models))
    garden.folder.mkdir()
    garden.manage("migrate", "--no-input", "-v", "0")
    garden.manage("scan_models")
    garden.start_worker()
    try:
        started = time.monotonic()
        result = garden.manage(
            "generate", "--model", FLUX, "--lora", lora, "--prompt", prompt, "--width", "64", "--height", "64",
            "--steps", "2", "--seed", "9", "--timeout", "150", "-v", "0",
        )  # fmt: skip
        assert "succeeded" in result.stdout, result.stdout + garden.worker_log()
        print(f"flux job with a LoRA on a real worker: {time.monotonic() - started:.1f}s", file=sys.stderr)
        [path] = (garden.folder / "media").rglob("*.jpeg")
        with PILImage.open(path) as picture:
            worker_lora = np.asarray(picture.convert("RGB"), dtype=np.int16)
    finally:
        garden.stop_worker()
    assert np.array_equal(worker_lora, here_lora)
    assert not np.array_equal(worker_lora, here_plain)


def test_what_a_transformer_model_cannot_take_is_a_400_before_queueing(settings, tmp_path):
    """The library knows a model's family: a job asking Flux or PixArt-α for what it cannot do is
    refused when asked, naming the field (the worker would fail it)."""
    from generation.requests import JobParameterError, JobRequest
    from library.models import LibraryEntry

    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    LibraryEntry.objects.create(kind="pipeline", name="flux", path="flux", family="flux")
    LibraryEntry.objects.create(kind="pipeline", name="pixart", path="pixart", family="pixart")
    LibraryEntry.objects.create(kind="pipeline", name="sd3", path="sd3", family="sd3")
    LibraryEntry.objects.create(kind="lora", name="ink", path="loras/ink.safetensors", family="other")
    for folder in ("flux", "pixart", "sd3", "loras"):  # the library checks that a model's file is there
        (tmp_path / folder).mkdir()
    (tmp_path / "loras" / "ink.safetensors").write_bytes(b"")
    cases = {
        ("flux", "sampler"): {"sampler": "euler"},
        ("flux", "clip_skip"): {"clip_skip": 2},
        ("flux", "prompt"): {"prompt": "a (red:1.3) flower"},
        ("pixart", "loras"): {"loras": (("ink", 0.5),)},
        ("pixart", "subseed_strength"): {"subseed": 3, "subseed_strength": 0.3},
        ("sd3", "sampler"): {"sampler": "ddim"},
    }
    for (model, field), params in cases.items():
        with pytest.raises(JobParameterError) as caught:
            JobRequest(**{"prompt": "a flower", "model": model, **params}).validate()
        assert set(caught.value.fields) == {field}, (model, field, caught.value.fields)
        assert repr(model) in caught.value.fields[field]
    assert JobRequest(prompt="a flower", model="sd3", clip_skip=2).validate().options["clip_skip"] == 2
    assert JobRequest(prompt="a flower", model="flux", loras=(("ink", 0.5),)).validate().loras == [{"name": "ink", "weight": 0.5}]
