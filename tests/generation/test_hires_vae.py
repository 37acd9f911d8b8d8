"""VAEs, upscalers and the hires fix (docs/models.md → VAEs, upscalers and hires fix) on the tiny
random-weight pipelines of testkit/tiny_library.py, with a tiny VAE (an LDM-layout single
file and a diffusers folder of the same weights) and a tiny RRDBNet upscaler of
tests/generation/tiny_components.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from garden.services import read_file
from generation import selectors, services
from generation.backends import hires, upscalers
from generation.imagefile import read_parameters
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.worker import runner
from library import upscaler_layouts
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.tiny_library import PIPELINES
from testkit.tiny_pipeline import save_tiny_pipeline
from tests.generation.tiny_components import save_tiny_upscaler, save_tiny_vae, upscaler_state

pytestmark = pytest.mark.django_db
MODEL = PIPELINES[0]
VAE, VAE_FOLDER, UPSCALER = "tiny-vae", "tiny-vae-folder", "tiny-x2"


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("library-hires")
    save_tiny_pipeline(root / MODEL)  # one model is enough here
    save_tiny_vae(root / "vae" / f"{VAE}.safetensors", seed=5)
    save_tiny_vae(root / "vae" / VAE_FOLDER, seed=5, layout="diffusers")
    save_tiny_upscaler(root / "upscalers" / f"{UPSCALER}.safetensors", scale=2)
    return root


def add_entry(kind: str, name: str, path: str, **fields) -> LibraryEntry:
    """The entry the scan makes for a vae/ or upscalers/ file (made here when the scan does not yet)."""
    entry, _ = LibraryEntry.objects.update_or_create(
        kind=kind, name=name, defaults={"path": path, "present": True, "usable": True, "family": LibraryEntry.Family.SD1, **fields}
    )
    return entry


@pytest.fixture
def library_settings(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    add_entry(LibraryEntry.Kind.VAE, VAE, f"vae/{VAE}.safetensors")
    add_entry(LibraryEntry.Kind.VAE, VAE_FOLDER, f"vae/{VAE_FOLDER}")
    add_entry(LibraryEntry.Kind.UPSCALER, UPSCALER, f"upscalers/{UPSCALER}.safetensors", family=LibraryEntry.Family.OTHER)
    pipelines = LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE)
    pipelines.update(family=LibraryEntry.Family.SD1, default_width=256, default_height=256)
    return diffusers_settings


def run_job(**params) -> GenerationJob:
    request = {"prompt": "a garden of glass flowers", "width": 64, "height": 64, "steps": 2, "seed": 77, "model": MODEL, **params}
    job = services.create_job(request=JobRequest(**request), enqueue=False)
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return job


def picture(job: GenerationJob) -> tuple[np.ndarray, dict]:
    image = selectors.job_images(job)[0]
    content = read_file(image.key)
    with PILImage.open(io.BytesIO(content)) as opened:
        return np.asarray(opened.convert("RGB"), dtype=np.int16), read_parameters(content)


def errors_of(**params) -> dict:
    request = {"prompt": "a garden", "width": 64, "height": 64, "steps": 2, "model": MODEL, **params}
    with pytest.raises(JobParameterError) as error:
        JobRequest(**request).validate()
    return error.value.fields


# --- VAEs ----------------------------------------------------------------------------------------


def test_a_vae_changes_the_picture_the_models_default_is_honoured_and_automatic_or_none_keep_its_own(library_settings):
    base, base_parameters = picture(run_job())
    automatic, _ = picture(run_job(vae="Automatic"))
    single_file, single_parameters = picture(run_job(vae=VAE))  # the original (LDM) layout, converted offline
    folder, _ = picture(run_job(vae=VAE_FOLDER))  # the same weights as a diffusers folder

    assert np.array_equal(base, automatic)
    assert np.abs(single_file - base).max() > 10
    assert np.array_equal(single_file, folder)
    assert single_parameters["vae"] == VAE and "vae" not in base_parameters

    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE, name=MODEL).update(default_vae=VAE)
    by_default = run_job()
    assert by_default.options["vae"] == VAE and np.array_equal(picture(by_default)[0], single_file)
    own = run_job(vae="None")  # A1111's "None": the model's own, whatever its default (and back after a VAE job)
    assert "vae" not in own.options and np.array_equal(picture(own)[0], base)


def test_vae_choices_that_cannot_paint_are_400s_naming_vae(library_settings):
    assert "Unknown VAE 'no-such-vae'" in errors_of(vae="no-such-vae")["vae"]
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.VAE, name=VAE).update(family=LibraryEntry.Family.SDXL)
    assert "is for SDXL" in errors_of(vae=VAE)["vae"]
    assert "diffusers backend" in errors_of(vae=VAE_FOLDER, backend="procedural", model=None)["vae"]
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE, name=MODEL).update(default_vae="gone-vae")
    assert "the default VAE of the model" in errors_of()["vae"]


# --- the hires fix -------------------------------------------------------------------------------


def test_hires_fix_reaches_1280x800_with_both_passes_in_progress(library_settings, monkeypatch):
    from generation.worker import runner

    reported = []
    original = runner.StepReporter

    def recording(mine, *, base, steps, throttle=None):
        on_step = original(mine, base=base, steps=steps, throttle=throttle)
        return lambda done: (reported.append((base + done, base + steps)), on_step(done))[1]

    monkeypatch.setattr(runner, "StepReporter", recording)
    job = run_job(width=1280, height=800, hires_fix=True, hires_steps=2, hires_denoising=0.5)

    pixels, parameters = picture(job)
    assert pixels.shape == (800, 1280, 3)
    assert job.steps_total == job.steps_done == 4  # 2 steps at 320x200, then the 2 second-pass steps (A1111's count)
    assert reported[0] == (0, 4) and (2, 4) in reported and reported[-1] == (4, 4)
    first_pass = [done for done, _ in reported if 0 < done <= 2]
    second_pass = [done for done, _ in reported if done > 2]
    assert first_pass and second_pass
    assert parameters["hires"] == {"first_width": 320, "first_height": 200, "upscaler": "latent", "steps": 2, "denoising": 0.5}
    assert (parameters["width"], parameters["height"]) == (1280, 800)


def test_bulk_jobs_paint_in_two_passes_by_default_when_their_model_is_smaller(library_settings):
    def bulk(**params) -> GenerationJob:
        return services.create_job(request=JobRequest(kind="bulk", emotion="calm", model=MODEL, steps=3, **params), enqueue=False)

    job = bulk()
    # The garden's default second pass: int(3 steps x 0.5) = 1 step, run as A1111 runs hr_second_pass_steps.
    assert job.options["hires"] == {"native": [256, 256], "upscaler": "latent", "steps": 1, "denoising": 0.5}
    assert job.steps_total == 2 * (3 + 1)  # a landscape and a portrait batch, each counting both passes
    landscape, portrait = hires.for_picture(job.options, 1280, 800), hires.for_picture(job.options, 800, 1280)
    assert (landscape.first_width, landscape.first_height, portrait.first_width, portrait.first_height) == (320, 200, 200, 320)

    assert "hires" not in bulk(hires_fix=False).options
    library_settings.GARDEN_HIRES_FIX = False
    assert "hires" not in bulk().options
    library_settings.GARDEN_HIRES_FIX = True
    library_settings.GARDEN_HIRES_UPSCALER = UPSCALER
    library_settings.GARDEN_HIRES_DENOISING = 0.3
    assert bulk(hires_steps=10).options["hires"] | {"native": None} == {"native": None, "upscaler": UPSCALER, "steps": 10, "denoising": 0.3}
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE).update(default_width=1024, default_height=1024)
    assert "hires" not in bulk().options  # 1280x800 is no larger than 1024x1024


def test_hires_fix_with_a_library_upscaler_and_what_it_refuses(library_settings):
    job = run_job(width=128, height=128, hires_fix=True, hires_first_width=64, hires_first_height=64, hires_upscaler=UPSCALER)
    pixels, parameters = picture(job)
    assert pixels.shape == (128, 128, 3) and parameters["hires"]["upscaler"] == UPSCALER

    assert "Unknown upscaler 'no-such'" in errors_of(width=1024, height=1024, hires_fix=True, hires_upscaler="no-such")["hires_upscaler"]
    # A1111's rule: 2 second-pass steps at 0.2 run 2 steps of a 10-step schedule; a schedule past the
    # scheduler's 1000 training steps cannot be set.
    asked = {"width": 1024, "height": 1024, "steps": 2, "hires_fix": True, "hires_steps": 2, "hires_denoising": 0.2}
    assert JobRequest(kind="images", prompt="a garden", model=MODEL, **asked).validate().options["hires"]["steps"] == 2
    too_long = errors_of(width=1024, height=1024, hires_fix=True, hires_steps=150, hires_denoising=0.1)["hires_denoising"]
    assert "schedule of 1500 steps" in too_long
    assert "set hires_fix to true" in errors_of(hires_upscaler="lanczos")["hires_upscaler"]
    assert "no larger than the model's native" in errors_of(width=128, height=128, hires_fix=True)["hires_fix"]
    first = errors_of(width=128, height=128, hires_fix=True, hires_first_width=128, hires_first_height=128)
    assert "smaller than the picture" in first["hires_first_width"]
    assert "diffusers backend" in errors_of(width=1024, height=1024, hires_fix=True, backend="procedural", model=None)["hires_fix"]
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE, name=MODEL).update(family=LibraryEntry.Family.FLUX)
    assert "Flux packs its latents" in errors_of(width=1024, height=1024, hires_fix=True, hires_upscaler="latent")["hires_upscaler"]


# --- upscalers -----------------------------------------------------------------------------------


def test_upscalers_read_every_rrdbnet_layout_and_refuse_other_files(tmp_path):
    import torch
    from safetensors.torch import save_file

    source = PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (12, 10, 3), dtype=np.uint8))
    from safetensors import safe_open

    outputs = []
    for layout, suffix in (("basicsr", ".safetensors"), ("esrgan", ".safetensors"), ("bsrgan", ".safetensors"), ("esrgan", ".pth")):
        path = save_tiny_upscaler(tmp_path / f"{layout}{suffix}", scale=4, layout=layout)
        net = upscalers.load(path)
        assert net.scale == 4
        outputs.append(np.asarray(upscalers.apply(net, source)))
        if suffix == ".safetensors":  # what the scan can read from the header alone (no torch, no weights)
            with safe_open(str(path), "np") as opened:
                names = opened.keys()
                shapes = {key: opened.get_slice(key).get_shape() for key in names}
            described = upscaler_layouts.describe(shapes)
            assert (described["layout"], described["scale"], described["filters"], described["blocks"]) == (layout, 4, 8, 1)
    assert outputs[0].shape == (48, 40, 3) and all(np.array_equal(outputs[0], other) for other in outputs[1:])

    bigger = upscalers.upscale(source, 100, 120, upscaler="x", path=str(tmp_path / "basicsr.safetensors"))
    assert bigger.size == (100, 120)  # run twice (48x40 → 192x160), then resized down
    assert upscalers.upscale(source, 20, 24, upscaler="nearest").size == (20, 24)

    # Real-ESRGAN's x2 model pixel-unshuffles its input: 12 input channels, scale 2.
    state = upscaler_state(scale=4)
    state["conv_first.weight"] = torch.randn(8, 12, 3, 3)
    net = upscalers.build(state)
    assert (net.shuffle, net.scale) == (2, 2) and upscalers.apply(net, source).size == (20, 24)

    save_file({"head.weight": torch.zeros(4, 4)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(upscalers.UpscalerError, match="Not an ESRGAN-family"):
        upscalers.load(tmp_path / "other.safetensors")
    with pytest.raises(upscaler_layouts.NotAnUpscaler, match="Not an ESRGAN-family"):
        upscaler_layouts.describe({"head.weight": [4, 4]})


# --- the job API -------------------------------------------------------------------------------


def test_the_job_api_takes_and_shows_the_vae_and_the_hires_fix(library_settings, token_client, no_enqueue):
    body = {"prompt": "a garden", "model": MODEL, "width": 1024, "height": 1024, "steps": 3, "vae": VAE, "hires_fix": True}
    response = token_client.post("/api/v1/jobs", body | {"hires_upscaler": "lanczos", "hires_denoising": 0.4}, format="json")
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["vae"] == VAE and answer["steps_total"] == 3 + 1  # int(3 x 0.4) second-pass steps
    assert answer["hires"] == {"native": [256, 256], "upscaler": "lanczos", "steps": 1, "denoising": 0.4}

    response = token_client.post("/api/v1/jobs", body | {"hires_upscaler": "nope"}, format="json")
    assert response.status_code == 400 and "hires_upscaler" in response.json()
    response = token_client.post("/api/v1/jobs", body | {"hires_first_width": 100, "hires_first_height": 64}, format="json")
    assert response.status_code == 400 and "hires_first_width" in response.json()
    assert GenerationJob.objects.count() == 1
