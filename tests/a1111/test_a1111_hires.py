"""The hires fix, VAEs and upscalers through webuiapi 0.9.17 (an independent A1111 client) against a
live server on the tiny random-weight models: ``txt2img(enable_hr=True, hr_upscaler=…)``, the
upscaler, latent-mode and VAE lists, ``override_settings.sd_vae`` and the ``sd_vae`` option, and
``extra_single_image`` with a tiny ESRGAN-family upscaler (tests/generation/tiny_components.py).
Jobs and the extras task run eagerly inside the live server's request (no broker)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import requests
import webuiapi
from PIL import Image

from a1111.models import ClientChoice
from generation import services
from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.worker import runner
from library.models import LibraryEntry
from retouch import uploads
from testkit.tiny_library import PIPELINES
from testkit.tiny_pipeline import save_tiny_pipeline
from tests.generation.tiny_components import save_tiny_upscaler, save_tiny_vae

pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "krita-hires", "pw-krita-hires"
VAE, UPSCALER = "tiny-vae", "tiny-x2"
MODEL = PIPELINES[0]


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("library-a1111-hires")
    save_tiny_pipeline(root / MODEL)  # one model is enough here
    save_tiny_vae(root / "vae" / f"{VAE}.safetensors", seed=5)
    save_tiny_upscaler(root / "upscalers" / f"{UPSCALER}.safetensors", scale=2)
    return root


@pytest.fixture
def api(live_server, django_user_model, eager_celery, retouch_settings, models_folder) -> webuiapi.WebUIApi:
    django_user_model.objects.create_user(USER, password=PASSWORD, is_staff=True)
    retouch_settings.GARDEN_MODELS_DIR = str(models_folder)
    client = webuiapi.WebUIApi(baseurl=f"{live_server.url}/sdapi/v1", username=USER, password=PASSWORD, sampler="Euler a", steps=2)
    assert client.refresh_checkpoints() is None  # the library scan
    for kind, name, path in ((LibraryEntry.Kind.VAE, VAE, f"vae/{VAE}.safetensors"),
                             (LibraryEntry.Kind.UPSCALER, UPSCALER, f"upscalers/{UPSCALER}.safetensors")):  # fmt: skip
        LibraryEntry.objects.update_or_create(kind=kind, name=name, defaults={"path": path, "present": True, "usable": True})
    return client


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_hires_fix_and_its_lists_through_webuiapi(api):
    assert [title.split(" [")[0] for title in api.util_get_model_names()] == [MODEL]  # titled "name [short hash]"
    upscalers = api.get_upscalers()
    assert [upscaler["name"] for upscaler in upscalers] == ["None", "Lanczos", "Nearest", UPSCALER]
    assert set(upscalers[-1]) == {"name", "model_name", "model_path", "model_url", "scale"}
    assert upscalers[-1]["model_path"].endswith(f"upscalers/{UPSCALER}.safetensors")
    assert [mode["name"] for mode in api.get_latent_upscale_modes()][:3] == ["Latent", "Latent (antialiased)", "Latent (bicubic)"]

    result = api.txt2img(
        prompt="a red flower", seed=3, width=64, height=64, enable_hr=True, hr_scale=2, hr_upscaler=webuiapi.HiResUpscaler.Latent,
        denoising_strength=0.5, alwayson_scripts={},
    )  # fmt: skip
    assert result.image.size == (128, 128)
    assert (result.info["width"], result.info["height"], result.info["denoising_strength"]) == (64, 64, 0.5)  # A1111's: the first pass
    infotext = result.info["infotexts"][0]
    assert "Size: 64x64" in infotext and "Hires upscale: 2" in infotext and "Hires upscaler: Latent" in infotext
    assert "Denoising strength: 0.5" in infotext
    job = GenerationJob.objects.get(pk=result.info["job_id"])
    assert (job.width, job.height, job.steps_total, job.steps_done) == (128, 128, 4, 4)  # both passes counted

    resized = api.txt2img(
        prompt="a red flower", seed=3, width=64, height=64, enable_hr=True, hr_resize_x=96, hr_resize_y=128, hr_upscaler=UPSCALER,
        hr_second_pass_steps=4, denoising_strength=0.5, alwayson_scripts={},
    )  # fmt: skip
    assert resized.image.size == (96, 128)
    assert "Hires resize: 96x128" in resized.info["infotexts"][0] and f"Hires upscaler: {UPSCALER}" in resized.info["infotexts"][0]
    assert GenerationJob.objects.get(pk=resized.info["job_id"]).steps_total == 2 + 4

    with pytest.raises(RuntimeError) as error:
        api.txt2img(prompt="a red flower", width=64, height=64, enable_hr=True, hr_upscaler="4x-NoSuch", alwayson_scripts={})
    assert error.value.args[0] == 400 and "hr_upscaler" in error.value.args[1]


def test_vae_choice_and_option_through_webuiapi(api, settings):
    vaes = api.get_sd_vae()
    assert vaes == [{"model_name": f"{VAE}.safetensors", "filename": vaes[0]["filename"]}] and vaes[0]["filename"].endswith(".safetensors")

    def paint(**overrides):
        return api.txt2img(prompt="a red flower", seed=5, width=64, height=64, override_settings=overrides, alwayson_scripts={})

    base = paint()
    chosen = paint(sd_vae=f"{VAE}.safetensors")
    automatic = paint(sd_vae="Automatic")
    assert np.abs(pixels(chosen.image) - pixels(base.image)).max() > 10
    assert np.array_equal(pixels(automatic.image), pixels(base.image))
    assert chosen.info["sd_vae_name"] == VAE and "VAE: tiny-vae" in chosen.info["infotexts"][0] and base.info["sd_vae_name"] is None

    api.set_options({"sd_vae": f"{VAE}.safetensors"})  # this caller's VAE for its later calls, not the venue's
    assert LibraryEntry.objects.get(kind=LibraryEntry.Kind.PIPELINE, is_default=True).default_vae == ""
    assert ClientChoice.objects.get().vae == VAE
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE], details={})  # GET options answers while a GPU worker is present
    assert api.get_options()["sd_vae"] == f"{VAE}.safetensors"  # named as its own /sd-vae list names it
    assert np.array_equal(pixels(paint().image), pixels(chosen.image))
    assert np.array_equal(pixels(paint(sd_vae="None").image), pixels(base.image))
    api.set_options({"sd_vae": "Automatic"})
    assert ClientChoice.objects.get().vae == "Automatic" and np.array_equal(pixels(paint().image), pixels(automatic.image))

    with pytest.raises(RuntimeError) as error:
        paint(sd_vae="kl-f8-anime.ckpt")
    assert error.value.args[0] == 400 and "override_settings.sd_vae" in error.value.args[1]


def test_extra_single_image_through_webuiapi(api):
    source = Image.fromarray(np.random.default_rng(1).integers(0, 255, (24, 32, 3), dtype=np.uint8))
    upscaled = api.extra_single_image(source, upscaler_1=UPSCALER, upscaling_resize=2)
    assert upscaled.image.size == (64, 48) and f"Postprocess upscaler: {UPSCALER}" in upscaled.info
    assert not np.array_equal(pixels(upscaled.image), pixels(source.resize((64, 48), Image.Resampling.LANCZOS)))

    lanczos = api.extra_single_image(source, upscaler_1="Lanczos", resize_mode=1, upscaling_resize_w=40, upscaling_resize_h=40)
    assert lanczos.image.size == (40, 40)  # covered, then cropped in the middle (upscaling_crop)
    assert api.extra_single_image(source, upscaler_1="None").image.size == source.size

    with pytest.raises(RuntimeError) as error:
        api.extra_single_image(source, upscaler_1="Lanczos", codeformer_visibility=0.5)
    assert error.value.args[0] == 400 and "codeformer_visibility" in error.value.args[1]
    with pytest.raises(RuntimeError) as error:
        api.extra_single_image(source, upscaler_1="R-ESRGAN 4x+")
    assert error.value.args[0] == 400 and "upscaler_1" in error.value.args[1]

    # A file in upscalers/ that is no ESRGAN-family network: the worker's reason, as a 503.
    LibraryEntry.objects.create(kind=LibraryEntry.Kind.UPSCALER, name="not-esrgan", path=f"vae/{VAE}.safetensors")
    with pytest.raises(RuntimeError) as error:
        api.extra_single_image(source, upscaler_1="not-esrgan")
    assert error.value.args[0] == 503 and "Not an ESRGAN-family (RRDBNet) upscaler" in error.value.args[1]
    storage = uploads.upload_storage()
    folders = storage.listdir("a1111-extras")[0] if storage.exists("a1111-extras") else []
    assert all(storage.listdir(f"a1111-extras/{folder}")[1] == [] for folder in folders)  # nothing left behind


def a1111_second_pass_steps(hr_second_pass_steps: int, steps: int, denoising: float) -> int:
    """The steps AUTOMATIC1111 runs in the hires pass, written from its source: ``sample_hr`` calls
    ``sample_img2img(steps=hr_second_pass_steps or steps)``; ``setup_img2img_steps`` schedules
    ``int(requested / min(denoising, 0.999))`` steps with ``t_enc = requested - 1``; k-diffusion then
    walks ``sigmas[steps - t_enc - 1:]`` (the schedule's sigmas end with 0): one step per gap."""
    requested = hr_second_pass_steps or steps
    scheduled = int(requested / min(denoising, 0.999)) if denoising > 0 else 0
    t_enc = requested - 1
    sigmas = list(range(scheduled, -1, -1))  # scheduled + 1 sigmas, the last one 0
    return len(sigmas[scheduled - t_enc - 1 :]) - 1


# (hr_second_pass_steps, steps, denoising_strength): 0 means the first pass's steps; 1 at 0.5 was a 400.
TRIPLES = ((0, 2, 0.5), (1, 2, 0.5), (3, 2, 0.3), (2, 3, 0.75), (0, 3, 1.0), (4, 2, 0.9))


def test_the_second_pass_runs_a1111s_number_of_steps(api, monkeypatch):
    from diffusers import UNet2DConditionModel

    calls = []
    forward = UNet2DConditionModel.forward
    monkeypatch.setattr(UNet2DConditionModel, "forward", lambda self, *a, **k: (calls.append(1), forward(self, *a, **k))[1])
    for second, steps, denoising in TRIPLES:
        calls.clear()
        result = api.txt2img(
            prompt="a red flower", seed=3, width=64, height=64, steps=steps, enable_hr=True, hr_scale=2, hr_second_pass_steps=second,
            denoising_strength=denoising, alwayson_scripts={},
        )  # fmt: skip
        expected = a1111_second_pass_steps(second, steps, denoising)
        assert len(calls) == steps + expected, (second, steps, denoising)  # one UNet call per step ("Euler a", CFG batched)
        assert f"Hires steps: {expected}," in result.info["infotexts"][0]
        job = GenerationJob.objects.get(pk=result.info["job_id"])
        assert job.steps_total == job.steps_done == steps + expected


def test_pictures_name_their_model_and_sampler_not_a_path(api, models_folder, settings):
    from django.core.files.storage import default_storage

    from garden.models import Image as GardenImage

    # A folder model has no file hash; a checkpoint's short hash is A1111's "Model hash".
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.PIPELINE, name=MODEL).update(short_hash="1a2b3c4d5e")
    body = {"prompt": "a red flower", "seed": 3, "width": 64, "height": 64, "steps": 2}  # no sampler: the model's own
    answer = requests.post(f"{api.baseurl}/txt2img", json=body, auth=(USER, PASSWORD), timeout=120).json()
    result = webuiapi.WebUIApiResult([], answer["parameters"], json.loads(answer["info"]), answer)
    result.images = [Image.open(io.BytesIO(base64.b64decode(answer["images"][0])))]
    entry = LibraryEntry.objects.get(kind=LibraryEntry.Kind.PIPELINE, name=MODEL)
    infotext = result.info["infotexts"][0]
    assert entry.short_hash and f"Model: {MODEL}," in infotext and f"Model hash: {entry.short_hash}" in infotext
    assert "Sampler: DDIM," in infotext and "Scheduler" not in infotext  # the tiny model's own, by its A1111 name
    assert result.info["sampler_name"] == "DDIM" and result.info["sd_model_name"] == MODEL

    answered = base64.b64decode(result.json["images"][0])  # the PNG: EXIF, XMP and A1111's parameters chunk
    job = GenerationJob.objects.get(pk=result.info["job_id"])
    image = GardenImage.objects.get(generation_jobs=job)
    with default_storage.open(image.key) as stored:
        pool_file = stored.read()
    info = api.png_info(result.image)
    served = [answered, pool_file, json.dumps(result.info).encode(), json.dumps(info.info).encode(), json.dumps(image.parameters).encode()]
    for content in served:
        assert str(models_folder).encode() not in content and b".safetensors" not in content
    assert info.parameters["Model"] == MODEL and info.parameters["Model hash"] == entry.short_hash
    assert f"{MODEL} [{entry.short_hash}]".encode() in answered and f"{MODEL} [{entry.short_hash}]".encode() in pool_file  # XMP
    assert image.parameters["origin"] == "a1111" and image.parameters["model_hash"] == entry.short_hash

    # Out of the curators' review pool by default (GARDEN_A1111_REVIEW_POOL), still on its job's page.
    from curation.selectors import review_queryset

    garden_job = services.create_job(request=JobRequest(prompt="a garden", width=64, height=64, steps=1), enqueue=False)
    runner.execute_job(job_id=garden_job.pk, worker="test")
    pending = list(review_queryset())
    assert image not in pending and GardenImage.objects.get(generation_jobs=garden_job) in pending
    assert list(review_queryset(job=job)) == [image]
    settings.GARDEN_A1111_REVIEW_POOL = True
    assert image in review_queryset()
