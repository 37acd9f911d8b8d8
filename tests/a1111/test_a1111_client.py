"""An independent A1111 client, webuiapi 0.9.17 (mix1009/sdwebuiapi, the most used one), against
a live server on tiny models: what it sends is what it sends to AUTOMATIC1111, and it must get
back the objects it builds from A1111's answers (WebUIApiResult with PIL images, info, …).

Jobs run eagerly inside the live server's request (no broker), on the tiny random-weight models.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import webuiapi
from PIL import Image

from a1111.models import PromptStyle
from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from testkit.tiny_library import EMBEDDING, LORA, PIPELINES, build_models_folder
from tests.retouch.retouch_support import MASK_BOX, noise

pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "krita", "pw-krita-secret"


@pytest.fixture
def api(live_server, django_user_model, eager_celery, retouch_settings) -> webuiapi.WebUIApi:
    django_user_model.objects.create_user(USER, password=PASSWORD, is_staff=True)
    return webuiapi.WebUIApi(baseurl=f"{live_server.url}/sdapi/v1", username=USER, password=PASSWORD, sampler="Euler a", steps=2)


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("library"))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_txt2img_through_webuiapi(api):
    PromptStyle.objects.create(name="garden", prompt="{prompt}, in a garden", negative_prompt="ugly")
    result = api.txt2img(prompt="a red flower", seed=42, width=64, height=64, batch_size=2, styles=["garden"], alwayson_scripts={})
    assert isinstance(result, webuiapi.WebUIApiResult) and len(result.images) == 2
    assert result.image.size == (64, 64) and result.info["all_seeds"] == [42, 43]
    assert result.info["prompt"] == "a red flower, in a garden" and result.info["negative_prompt"] == "ugly"
    assert result.info["styles"] == ["garden"] and result.parameters["styles"] == ["garden"]
    job = GenerationJob.objects.get(pk=result.info["job_id"])
    assert (job.kind, job.status, job.images.count()) == ("images", "succeeded", 2)

    # Fields change the pixels where the tiny model can show it: seed and size.
    same = api.txt2img(prompt="a red flower", seed=42, width=64, height=64, styles=["garden"], alwayson_scripts={})
    assert np.array_equal(pixels(same.image), pixels(result.image))
    reseeded = api.txt2img(prompt="a red flower", seed=43, width=64, height=64, styles=["garden"], alwayson_scripts={})
    assert np.array_equal(pixels(reseeded.image), pixels(result.images[1]))  # image n of a batch = seed + n alone
    wide = api.txt2img(prompt="a red flower", seed=42, width=96, height=64, alwayson_scripts={})
    assert wide.image.size == (96, 64)

    # A refused field comes back as the client's error, naming it.
    with pytest.raises(RuntimeError) as error:
        api.txt2img(prompt="a red flower", enable_hr=True, hr_sampler_name="DDIM", width=64, height=64, alwayson_scripts={})
    assert error.value.args[0] == 400 and "hr_sampler_name" in error.value.args[1]

    # png-info reads back what the answer's PNG carries.
    info = api.png_info(result.image)
    assert "Seed: 42" in info.info and "a red flower, in a garden" in info.info


def test_img2img_with_a_mask_and_a_lineart_unit_through_webuiapi(api, retouch_settings, retouch_models):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    source = noise()
    mask = Image.new("L", source.size, 0)
    mask.paste(255, MASK_BOX)
    result = api.img2img(
        images=[source], mask_image=mask, inpainting_fill=1, denoising_strength=0.6, width=64, height=64, seed=7, steps=4,
        inpaint_full_res=True, inpaint_full_res_padding=32, alwayson_scripts={},
    )  # fmt: skip
    assert result.image.size == source.size and result.info["all_seeds"] == [7]
    before, after = pixels(source), pixels(result.image)
    far = np.ones(after.shape[:2], bool)
    far[MASK_BOX[1] - 20 : MASK_BOX[3] + 20, MASK_BOX[0] - 20 : MASK_BOX[2] + 20] = False
    assert (after[far] == before[far]).all()  # untouched away from the mask
    assert not np.array_equal(after, before)  # repainted inside

    models = api.controlnet_model_list()
    assert models == ["tiny-lineart [lineart]"] and "lineart" in api.controlnet_module_list() and api.controlnet_version() == 2
    unit = webuiapi.ControlNetUnit(image=noise(seed=4), module="lineart", model=models[0], weight=0.8, control_mode=2)
    controlled = api.img2img(
        images=[source], mask_image=mask, inpainting_fill=1, denoising_strength=0.6, width=64, height=64, seed=7, steps=4,
        controlnet_units=[unit], alwayson_scripts={},
    )  # fmt: skip
    job = GenerationJob.objects.get(pk=controlled.info["job_id"])
    [control] = job.retouch_job.options["controls"]
    assert (control["type"], control["scale"], control["mode"], control["has_image"]) == ("lineart", 0.8, 2, True)
    assert controlled.image.size == source.size

    # webuiapi's own controlnet_detect sends "controlnet_images", a name the extension never read
    # (it reads controlnet_input_images): the call as the extension documents it.
    detected = api.custom_post(
        "controlnet/detect", payload={"controlnet_module": "lineart", "controlnet_input_images": [webuiapi.raw_b64_img(source)]}
    )
    assert detected.info == "Success" and detected.image.mode == "L" and detected.image.size[0] > detected.image.size[1]


def test_lists_progress_interrupt_and_interrogate_through_webuiapi(api, retouch_settings, retouch_models, settings):
    assert api.util_get_model_names() == [settings.GARDEN_DIFFUSION_MODEL.rstrip("/").rsplit("/", 1)[-1]]
    assert {"Euler a", "DPM++ 2M", "DDIM"} <= set(api.util_get_sampler_names())
    assert sorted(api.util_get_scheduler_names()) == ["automatic", "exponential", "karras", "normal"]
    assert api.get_loras() == [] and api.get_embeddings() == {"loaded": {}, "skipped": {}}
    assert api.get_prompt_styles() == [] and api.get_sd_vae() == []
    assert [upscaler["name"] for upscaler in api.get_upscalers()] == ["None", "Lanczos", "Nearest"]
    progress = api.get_progress()
    assert progress["progress"] == 0 and progress["state"]["job_count"] == 0
    assert api.interrupt() == {} and api.skip() == {}

    red = Image.new("RGB", (32, 32), (230, 20, 20))
    with pytest.raises(RuntimeError) as error:
        api.interrogate(red, model="deepdanbooru")
    assert error.value.args[0] == 503 and "GARDEN_RETOUCH_TAGGER_MODEL" in error.value.args[1]
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = str(retouch_models["tagger"])
    caption = api.interrogate(red, model="deepdanbooru").info
    assert caption.split(", ")[0] == "red flower"


def test_library_models_loras_and_options_through_webuiapi(api, retouch_settings, models_folder, settings):
    retouch_settings.GARDEN_MODELS_DIR = str(models_folder)
    assert api.refresh_checkpoints() is None  # the library scan, as A1111 answers it (null)
    titles = api.util_get_model_names()  # "name [short hash]" as A1111 titles them: a folder's hash is its manifest's
    assert [title.split(" [")[0] for title in titles] == list(PIPELINES) and all(re.search(r" \[[0-9a-f]{10}\]$", t) for t in titles)
    assert [lora["name"] for lora in api.get_loras()] == [LORA] and list(api.get_embeddings()["loaded"]) == [EMBEDDING]

    def paint(model: str, prompt: str = "a red flower"):
        return api.txt2img(
            prompt=prompt, seed=5, width=64, height=64, override_settings={"sd_model_checkpoint": model}, alwayson_scripts={}
        )

    first, second = (paint(model) for model in PIPELINES)
    assert (first.info["sd_model_name"], second.info["sd_model_name"]) == PIPELINES
    assert not np.array_equal(pixels(first.image), pixels(second.image))  # the checkpoint changes the picture
    inked = paint(PIPELINES[0], f"a red flower <lora:{LORA}:1>")
    assert not np.array_equal(pixels(inked.image), pixels(first.image))  # and so does the LoRA
    assert GenerationJob.objects.get(pk=inked.info["job_id"]).loras == [{"name": LORA, "weight": 1.0}]
    assert np.array_equal(pixels(paint(PIPELINES[0]).image), pixels(first.image))  # nothing leaks into the next job

    # options get/set: the health probe reads worker presence; set_options switches the default model.
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE], details={})
    assert api.get_options()["gpu_worker_count"] == 1  # a count: never host names to clients
    assert api.set_options({"sd_model_checkpoint": PIPELINES[1]}) is None
    assert api.get_options()["sd_model_checkpoint"].startswith(PIPELINES[1])
    plain = api.txt2img(prompt="a red flower", seed=5, width=64, height=64, alwayson_scripts={})
    assert plain.info["sd_model_name"] == PIPELINES[1] and np.array_equal(pixels(plain.image), pixels(second.image))


def test_a_client_key_as_the_password_and_the_retouch_apps_probe_with_a_user_and_password(api, live_server, settings):
    """Unchanged clients, other credentials: webuiapi with a client key in its password field, and
    the retouch app's health probe (``requests.get(…/sdapi/v1/options, timeout=2)``, app_server_status.py)
    given a user name and password: every call of each answers, and a wrong password is still a 401."""
    import requests
    from django.contrib.auth import get_user_model

    from infra import client_keys
    from infra.models import ClientKey

    user = get_user_model().objects.get(username=USER)
    secret = client_keys.issue(ClientKey(user=user, name="Krita"), by=user)
    keyed = webuiapi.WebUIApi(baseurl=f"{live_server.url}/sdapi/v1", username=USER, password=secret)
    assert keyed.get_progress()["state"]["job_count"] == 0 and "Euler a" in keyed.util_get_sampler_names()
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE], details={})
    for _ in range(3):
        probe = requests.get(f"{live_server.url}/sdapi/v1/options", auth=(USER, PASSWORD), timeout=2)
        assert probe.status_code == 200 and probe.json()["gpu_worker_count"] == 1
    wrong = requests.get(f"{live_server.url}/sdapi/v1/options", auth=(USER, "not-the-password"), timeout=2)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
