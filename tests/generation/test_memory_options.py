"""Memory and precision options (docs/models.md#memory-and-precision) on tiny CPU pipelines: the
dtype really loaded, per-model overrides from the library reaching the backend, offload refused
clearly where there is no GPU, VAE tiling and slicing enabled, the memory budget's arithmetic, the
settings checked at start-up, and a job that runs out of GPU memory failing once with the settings
that would make it fit.

What needs a GPU (offload through accelerate's hooks, torch's per-process memory fraction, peak
memory under each option) is measured by bench/gpu_proof.py --only memory on a GPU machine."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from PIL import Image as PILImage

from garden.services import read_file
from generation import backends, selectors, services
from generation.backends import Batch, ModelUnavailable
from generation.backends.diffusion import DiffusersBackend, memory_fraction
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import runner
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.tiny_pipeline import save_tiny_pipeline

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.django_db
MODEL = "tiny-sd"
OUT_OF_MEMORY = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)"


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory-library")
    save_tiny_pipeline(root / MODEL)
    return root


@pytest.fixture
def library_settings(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    diffusers_settings.GARDEN_DIFFUSION_MAX_LOADED = 2
    library_services.scan()
    yield diffusers_settings
    backends.loaded_pipelines.reset()


def run_job(**params) -> GenerationJob:
    request = {"prompt": "a garden of glass flowers", "width": 64, "height": 64, "steps": 2, "seed": 77, "model": MODEL, **params}
    job = services.create_job(request=JobRequest(**request), enqueue=False)
    return runner.execute_job(job_id=job.pk, worker="test")


def pixels(job: GenerationJob) -> np.ndarray:
    [image] = selectors.job_images(job)
    with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int16)


def backend_of(settings, model: str = MODEL) -> DiffusersBackend:
    entry = LibraryEntry.objects.get(name=model)
    return backends.get_backend(backends.DIFFUSERS, model=f"{settings.GARDEN_MODELS_DIR}/{model}", dtype=entry.dtype, offload=entry.offload)


def component_dtypes(pipeline) -> set:
    return {pipeline.unet.dtype, pipeline.vae.dtype, pipeline.text_encoder.dtype}


@pytest.mark.parametrize(("choice", "expected"), [("auto", torch.float32), ("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_the_dtype_chosen_is_the_dtype_loaded_and_painted(tiny_model_dir, choice, expected):
    backend = DiffusersBackend(model=str(tiny_model_dir), device="cpu", dtype=choice)
    batch = Batch(prompt="a flower", negative_prompt="", width=64, height=64, steps=1, guidance=1.0, seeds=[3])
    [picture] = backend.generate(batch)
    assert component_dtypes(backend.pipeline) == {expected}
    assert backend.describe()["dtype"] == str(expected).removeprefix("torch.")
    assert picture.size == (64, 64)


def test_a_library_entry_s_dtype_overrides_the_worker_s_and_a_change_loads_it_again(library_settings):
    LibraryEntry.objects.filter(name=MODEL).update(dtype=LibraryEntry.Dtype.BF16)
    assert run_job().status == GenerationJob.Status.SUCCEEDED
    first = backend_of(library_settings)
    assert component_dtypes(first.pipeline) == {torch.bfloat16}

    LibraryEntry.objects.filter(name=MODEL).update(dtype=LibraryEntry.Dtype.WORKER)  # back to GARDEN_DIFFUSION_DTYPE (auto)
    assert run_job().status == GenerationJob.Status.SUCCEEDED
    second = backend_of(library_settings)
    assert second is not first and first.pipeline is None  # dropped, not kept beside it
    assert component_dtypes(second.pipeline) == {torch.float32}


def test_offload_without_a_gpu_is_refused_naming_the_setting(library_settings, tiny_model_dir):
    for offload in ("model", "sequential"):
        with pytest.raises(
            ModelUnavailable, match=rf"Offload '{offload}' .* needs a GPU, and this worker paints on 'cpu'.*GARDEN_DIFFUSION_OFFLOAD"
        ):
            DiffusersBackend(model=str(tiny_model_dir), device="cpu", offload=offload).load()

    LibraryEntry.objects.filter(name=MODEL).update(offload=LibraryEntry.Offload.SEQUENTIAL)
    job = run_job()
    assert job.status == GenerationJob.Status.FAILED and job.attempts == 1
    assert "GARDEN_DIFFUSION_OFFLOAD (or the model's offload in the library admin) to none" in job.error


def test_unknown_choices_are_refused_naming_the_setting(tiny_model_dir):
    with pytest.raises(ModelUnavailable, match=r"Unknown dtype 'fp8'.*GARDEN_DIFFUSION_DTYPE.*auto, fp16, bf16, fp32"):
        DiffusersBackend(model=str(tiny_model_dir), dtype="fp8")
    with pytest.raises(ModelUnavailable, match=r"Unknown offload 'cpu'.*GARDEN_DIFFUSION_OFFLOAD.*none, model, sequential"):
        DiffusersBackend(model=str(tiny_model_dir), offload="cpu")


def test_vae_tiling_and_slicing_are_on_the_vae_and_in_the_parameters(library_settings):
    library_settings.GARDEN_DIFFUSION_VAE_TILING = True
    library_settings.GARDEN_DIFFUSION_VAE_SLICING = True
    assert run_job(count=2).status == GenerationJob.Status.SUCCEEDED
    backend = backend_of(library_settings)
    assert backend.pipeline.vae.use_tiling and backend.pipeline.vae.use_slicing
    assert backend.describe() | {"vae_tiling": True, "vae_slicing": True} == backend.describe()

    library_settings.GARDEN_DIFFUSION_VAE_TILING = False  # a worker setting: every held pipeline is rebuilt
    library_settings.GARDEN_DIFFUSION_VAE_SLICING = False
    rebuilt = backend_of(library_settings)
    rebuilt.load()
    assert not rebuilt.pipeline.vae.use_tiling and not rebuilt.pipeline.vae.use_slicing
    assert "vae_tiling" not in rebuilt.describe()


def test_the_memory_budget_is_a_share_of_the_card_and_never_more_than_it_has():
    gib = 1024**3
    assert memory_fraction(0, 80 * gib, "cuda") == 1.0
    assert memory_fraction(20, 80 * gib, "cuda") == 0.25
    with pytest.raises(ModelUnavailable, match=r"GARDEN_DIFFUSION_MEMORY_GB=96 is more than cuda:1 has \(80.0 GB\)"):
        memory_fraction(96, 80 * gib, "cuda:1")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GARDEN_DIFFUSION_DTYPE", "fp8", r"GARDEN_DIFFUSION_DTYPE='fp8' is not a valid choice: use one of auto, fp16, bf16, fp32"),
        ("GARDEN_DIFFUSION_OFFLOAD", "cpu", r"GARDEN_DIFFUSION_OFFLOAD='cpu' is not a valid choice: use one of none, model, sequential"),
        ("GARDEN_DIFFUSION_MEMORY_GB", -4.0, r"GARDEN_DIFFUSION_MEMORY_GB=-4.0 is below 0: this worker's GPU memory"),
    ],
)
def test_memory_settings_are_checked_at_start_up(settings, name, value, message):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        apps.get_app_config("generation").ready()


class OutOfMemoryAtTheUNet:
    """Makes the loaded pipeline's UNet raise CUDA's out-of-memory error on its first ``times`` calls."""

    def __init__(self, backend: DiffusersBackend, times: int):
        self.left, self.raised = times, 0
        self.handle = backend.pipeline.unet.register_forward_pre_hook(self)

    def __call__(self, module, args):
        if self.left:
            self.left -= 1
            self.raised += 1
            raise torch.cuda.OutOfMemoryError(OUT_OF_MEMORY)


def test_a_job_that_cannot_fit_fails_once_saying_which_settings_make_it_fit(library_settings):
    backend = backend_of(library_settings)
    backend.load()
    injected = OutOfMemoryAtTheUNet(backend, times=10)
    job = run_job(count=2)
    assert job.status == GenerationJob.Status.FAILED and job.attempts == 1  # failed for good, not queued again
    assert injected.raised == 2  # the call, and once more after emptying the cache
    assert job.error.startswith(f"Out of GPU memory twice painting 2 picture(s) of 64x64 with {MODEL} (float32, offload none")
    for setting in (
        "GARDEN_DIFFUSION_BATCH_SIZE",
        "GARDEN_DIFFUSION_OFFLOAD=model",
        "GARDEN_DIFFUSION_VAE_TILING",
        "GARDEN_DIFFUSION_MEMORY_GB",
    ):
        assert setting in job.error
    assert OUT_OF_MEMORY in job.error
    injected.handle.remove()


def test_one_out_of_memory_is_tried_again_and_paints_the_same_picture(library_settings):
    expected = pixels(run_job())
    injected = OutOfMemoryAtTheUNet(backend_of(library_settings), times=1)
    job = run_job()
    assert job.status == GenerationJob.Status.SUCCEEDED and injected.raised == 1
    assert np.array_equal(pixels(job), expected)  # the seeds' generators started over
    injected.handle.remove()


def test_a_model_that_does_not_fit_on_the_card_fails_to_load_saying_what_makes_it_fit(tiny_model_dir, monkeypatch):
    """The out-of-memory of moving the weights onto the device (injected at the UNet's ``to``, once)."""
    from diffusers import UNet2DConditionModel

    real_to, calls = UNet2DConditionModel.to, []

    def to(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError(OUT_OF_MEMORY)
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(UNet2DConditionModel, "to", to)
    backend = DiffusersBackend(model=str(tiny_model_dir), device="cpu")
    with pytest.raises(ModelUnavailable, match=r"does not fit in cpu.s memory .*OFFLOAD=model.*GARDEN_DIFFUSION_MAX_LOADED"):
        backend.load()
    assert backend.pipeline is None and len(calls) == 2  # and the weights were given back to the CPU
