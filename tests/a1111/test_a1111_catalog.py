"""The A1111 endpoints beside img2img (docs/a1111.md): txt2img, the lists, progress/interrupt,
interrogate, png-info and the ControlNet extension's lists, in A1111's shapes."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from a1111 import answers, parsing, shorthash, styles, txt2img
from a1111.models import PromptStyle
from generation import backends
from generation.models import GenerationJob
from generation.requests import JobParameterError
from library.models import LibraryEntry
from tests.retouch.retouch_support import encoded, noise

pytestmark = pytest.mark.django_db

GETS = [
    "/sdapi/v1/sd-models",
    "/sdapi/v1/samplers",
    "/sdapi/v1/schedulers",
    "/sdapi/v1/upscalers",
    "/sdapi/v1/latent-upscale-modes",
    "/sdapi/v1/sd-vae",
    "/sdapi/v1/loras",
    "/sdapi/v1/embeddings",
    "/sdapi/v1/prompt-styles",
    "/sdapi/v1/scripts",
    "/sdapi/v1/cmd-flags",
    "/sdapi/v1/progress",
    "/controlnet/version",
    "/controlnet/module_list",
    "/controlnet/model_list",
    "/controlnet/settings",
]
POSTS = [
    "/sdapi/v1/txt2img", "/sdapi/v1/extra-single-image", "/sdapi/v1/interrupt", "/sdapi/v1/skip", "/sdapi/v1/interrogate",
    "/sdapi/v1/png-info",
]  # fmt: skip


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def picture(value: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(value)))


@pytest.fixture
def basic_client(django_user_model):
    user = django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + b64(b"a1111:pw-a1111-secret"))
    client.user = user
    return client


def txt2img_body(**extra) -> dict:
    """What webuiapi 0.9.17 sends by default (its txt2img payload), at a tiny size."""
    return {
        "enable_hr": False, "denoising_strength": 0.7, "firstphase_width": 0, "firstphase_height": 0, "hr_scale": 2,
        "hr_upscaler": "Latent", "hr_second_pass_steps": 0, "hr_resize_x": 0, "hr_resize_y": 0, "prompt": "a red flower",
        "styles": [], "seed": 42, "subseed": -1, "subseed_strength": 0.0, "seed_resize_from_h": 0, "seed_resize_from_w": 0,
        "batch_size": 1, "n_iter": 1, "steps": 2, "cfg_scale": 7.0, "width": 64, "height": 64, "restore_faces": False,
        "tiling": False, "do_not_save_samples": False, "do_not_save_grid": False, "negative_prompt": "", "eta": 1.0,
        "s_churn": 0, "s_tmax": 0, "s_tmin": 0, "s_noise": 1, "override_settings": {}, "override_settings_restore_afterwards": True,
        "sampler_name": "Euler a", "scheduler": "automatic", "sampler_index": "Euler a", "script_name": None, "script_args": [],
        "send_images": True, "save_images": False, "alwayson_scripts": {},
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize(("method", "path"), [("get", path) for path in GETS] + [("post", path) for path in POSTS])
def test_every_endpoint_needs_credentials(api_client, method, path):
    response = getattr(api_client, method)(path, {}, format="json")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.django_db(transaction=True)
def test_txt2img_runs_a_generation_job_and_answers_a1111s_envelope(basic_client, diffusers_settings, eager_celery):
    diffusers_settings.GARDEN_TEXT2IMAGE_EMOTION = "calm"
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(batch_size=2, n_iter=1), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    info = json.loads(answer["info"])
    assert (info["seed"], info["all_seeds"], info["width"], info["height"], info["steps"]) == (42, [42, 43], 64, 64, 2)
    assert (info["sampler_name"], info["scheduler"], info["styles"], info["clip_skip"]) == ("Euler a", "Automatic", [], 1)
    assert answer["parameters"]["prompt"] == "a red flower" and len(info["infotexts"]) == 2
    job = GenerationJob.objects.get(pk=info["job_id"])
    assert (job.kind, job.emotion, job.status, job.count, job.prompt) == ("images", "calm", "succeeded", 2, "a red flower")
    assert job.images.count() == 2  # stored in the pool whatever save_images says
    first, second = (picture(value) for value in answer["images"])
    assert first.format == "PNG" and first.size == (64, 64)
    assert first.info["parameters"].startswith("a red flower\nSteps: 2, Sampler: Euler a") and "Seed: 42," in first.info["parameters"]
    assert not np.array_equal(np.asarray(first), np.asarray(second))  # seeds 42 and 43

    # The same seed paints the same picture again; another seed or size changes it.
    again = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json").json()
    assert np.array_equal(np.asarray(picture(again["images"][0])), np.asarray(first))
    other = basic_client.post("/sdapi/v1/txt2img", txt2img_body(seed=7), format="json").json()
    assert not np.array_equal(np.asarray(picture(other["images"][0])), np.asarray(first))
    wide = basic_client.post("/sdapi/v1/txt2img", txt2img_body(width=96, send_images=False), format="json").json()
    assert wide["images"] == [] and json.loads(wide["info"])["width"] == 96
    assert GenerationJob.objects.get(pk=json.loads(wide["info"])["job_id"]).images.get().width == 96

    # png-info reads the parameters back (the answer's PNG chunk, and the pool file's EXIF).
    info_back = basic_client.post("/sdapi/v1/png-info", {"image": answer["images"][0]}, format="json").json()
    assert info_back["parameters"]["Seed"] == "42" and info_back["parameters"]["Size-1"] == "64"
    assert info_back["parameters"]["Prompt"] == "a red flower" and info_back["items"]["emotion_garden"]["seed"] == 42
    from garden.services import read_file

    stored = read_file(job.images.order_by("key").first().key)  # a JPEG with EXIF only
    from_pool = basic_client.post("/sdapi/v1/png-info", {"image": b64(stored)}, format="json").json()
    assert from_pool["parameters"]["Prompt"] == "a red flower" and from_pool["parameters"]["Steps"] == "2"


@pytest.mark.django_db(transaction=True)
def test_txt2img_variation_seed_changes_the_picture(basic_client, diffusers_settings, eager_celery):
    plain = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json").json()
    first = picture(plain["images"][0])
    varied = basic_client.post("/sdapi/v1/txt2img", txt2img_body(subseed=9, subseed_strength=0.5), format="json").json()
    assert json.loads(varied["info"])["all_subseeds"] == [9] and json.loads(varied["info"])["subseed_strength"] == 0.5
    assert not np.array_equal(np.asarray(picture(varied["images"][0])), np.asarray(first))


@pytest.mark.django_db(transaction=True)
def test_txt2img_clip_skip_changes_the_picture(basic_client, diffusers_settings, eager_celery):
    plain = basic_client.post("/sdapi/v1/txt2img", txt2img_body(), format="json").json()
    first = picture(plain["images"][0])
    body = txt2img_body(override_settings={"CLIP_stop_at_last_layers": 2})
    response = basic_client.post("/sdapi/v1/txt2img", body, format="json")
    assert response.status_code == 200, response.content
    skipped = response.json()
    assert json.loads(skipped["info"])["clip_skip"] == 2 and "Clip skip: 2" in json.loads(skipped["info"])["infotexts"][0]
    assert not np.array_equal(np.asarray(picture(skipped["images"][0])), np.asarray(first))


def test_txt2img_maps_a1111_fields_to_the_job_request():
    request, labels = txt2img.txt2img_request(
        txt2img_body(
            prompt="a cat <lora:ink:0.6>",
            seed=-1,
            subseed=5,
            subseed_strength=0.3,
            sampler_name="DPM++ 2M",
            scheduler="Karras",
            batch_size=2,
            n_iter=3,
            cfg_scale=5.5,
            override_settings={"sd_model_checkpoint": "dreamy [0123456789]", "CLIP_stop_at_last_layers": 2},
        )
    )
    assert (request.kind, request.prompt, request.seed, request.subseed, request.subseed_strength) == (
        "images", "a cat <lora:ink:0.6>", None, 5, 0.3,
    )  # fmt: skip
    assert (request.sampler, request.count, request.guidance, request.model, request.clip_skip) == (
        "dpm++_karras", 6, 5.5, "dreamy [0123456789]", 2,
    )  # fmt: skip
    assert labels == {"sampler": "DPM++ 2M", "scheduler": "Karras", "styles": [], "hires": {}}
    for name, scheduler, ours in [("Euler a", "automatic", "euler_a"), ("DPM++ 2M Karras", "", "dpm++_karras"), ("k_lms", "", "lms"),
                                  ("PLMS", "Automatic", "pndm"), ("", "", "")]:  # fmt: skip
        assert txt2img.sampler_choice({"sampler_name": name, "scheduler": scheduler})[0] == ours
    assert all(sampler.ours in backends.SAMPLERS for sampler in txt2img.SAMPLERS)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"enable_hr": True, "hr_sampler_name": "DPM++ 2M"}, "hr_sampler_name"),
        ({"enable_hr": True, "hr_upscaler": "SwinIR 4x"}, "hr_upscaler"),
        ({"enable_hr": True, "hr_scale": 8}, "hr_scale"),
        ({"tiling": True}, "tiling"),
        ({"script_name": "x/y/z plot"}, "script_name"),
        ({"alwayson_scripts": {"ADetailer": {"args": [True, {"ad_model": "face_yolov8n.pt"}]}}}, "alwayson_scripts.ADetailer"),
        ({"alwayson_scripts": {"ControlNet": {"args": [{"module": "canny"}]}}}, "alwayson_scripts.ControlNet.args[0].input_image"),
        ({"sampler_name": "Euler a", "eta": 0.5}, "eta"),
        ({"s_churn": 1}, "s_churn"),
        ({"s_min_uncond": 0.5}, "s_min_uncond"),
        ({"infotext": "a cat\nSteps: 20, Seed: 1, Size: 64x64"}, "infotext"),
        ({"override_settings": {"samples_format": "jpg"}}, "override_settings.samples_format"),
        ({"seed_resize_from_w": 512}, "seed_resize_from_w"),
        ({"override_settings": {"sd_vae": "kl-f8-anime.ckpt"}}, "override_settings.sd_vae"),
        ({"override_settings": {"CLIP_stop_at_last_layers": 0}}, "override_settings.CLIP_stop_at_last_layers"),
        ({"sampler_name": "DPM++ SDE"}, "sampler_name"),
        ({"sampler_name": "Euler a", "scheduler": "Exponential"}, "scheduler"),
        ({"styles": ["no such style"]}, "styles"),
        ({"styles": "cinematic"}, "styles"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "a cat <lora:no-such-lora:0.8>"}, "prompt"),
        ({"send_images": "yes"}, "send_images"),
        ({"subseed_strength": 2}, "subseed_strength"),
        ({"steps": 0}, "steps"),
        ({"width": 100}, "width"),
        ({"batch_size": 40, "n_iter": 2}, "batch_size"),
        ({"cfg_scale": 99}, "cfg_scale"),
    ],
)
def test_txt2img_refuses_what_it_cannot_honour_by_name(basic_client, diffusers_settings, no_enqueue, extra, field):
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(**extra), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json() and not GenerationJob.objects.exists()


def test_txt2img_accepts_disabled_extension_units_and_cosmetic_fields(basic_client, diffusers_settings, no_enqueue, settings):
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    body = txt2img_body(
        alwayson_scripts={"ADetailer": {"args": [False]}, "ControlNet": {"args": []}},  # what webuiapi adds when installed
        save_images=True, do_not_save_grid=True, override_settings={"samples_format": "png"}, force_task_id="task(1)",
    )  # fmt: skip
    response = basic_client.post("/sdapi/v1/txt2img", body, format="json")
    assert response.status_code == 504 and GenerationJob.objects.get().status == "queued"


def test_styles_follow_a1111s_rule(basic_client, diffusers_settings, no_enqueue, settings):
    PromptStyle.objects.create(name="cinematic", prompt="cinematic still of {prompt}, film grain", negative_prompt="cartoon")
    PromptStyle.objects.create(name="bright", prompt="bright colours", negative_prompt="{prompt}, dull")
    assert styles.apply_styles("a fox", "blurry", ["cinematic", "bright"]) == (
        "cinematic still of a fox, film grain, bright colours",
        "blurry, cartoon, dull",
    )
    assert styles.apply_styles("", "", ["bright"]) == ("bright colours", ", dull")
    assert styles.apply_styles("a fox", "", []) == ("a fox", "")
    with pytest.raises(JobParameterError) as error:
        styles.apply_styles("a fox", "", ["bright", "noir"])
    assert "noir" in error.value.fields["styles"] and "bright" in error.value.fields["styles"]

    settings.GARDEN_A1111_WAIT_SECONDS = 0
    response = basic_client.post("/sdapi/v1/txt2img", txt2img_body(prompt="a fox", styles=["cinematic"]), format="json")
    assert response.status_code == 504
    job = GenerationJob.objects.get(pk=response.json()["job_id"])
    assert (job.prompt, job.negative_prompt) == ("cinematic still of a fox, film grain", "cartoon")
    listed = basic_client.get("/sdapi/v1/prompt-styles").json()
    assert listed == [
        {"name": "bright", "prompt": "bright colours", "negative_prompt": "{prompt}, dull"},
        {"name": "cinematic", "prompt": "cinematic still of {prompt}, film grain", "negative_prompt": "cartoon"},
    ]


def test_lists_in_a1111s_shapes(basic_client, settings, tmp_path):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"  # GARDEN_DIFFUSION_MODEL paints (the demo's painter: test_a1111_options)
    settings.GARDEN_MODELS_DIR = ""
    settings.GARDEN_DIFFUSION_MODEL = "/models/tiny-sd"
    assert basic_client.get("/sdapi/v1/sd-models").json() == [
        {
            "title": "tiny-sd",
            "model_name": "tiny-sd",
            "hash": shorthash.name_hash("tiny-sd"),
            "sha256": None,
            "filename": "/models/tiny-sd",
            "config": None,
        }
    ]
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    LibraryEntry.objects.create(
        kind="pipeline", name="dreamy", path="pipelines/dreamy.safetensors", sha256="0123456789abcdef" * 4, short_hash="0123456789"
    )
    LibraryEntry.objects.create(kind="pipeline", name="gone", path="pipelines/gone", present=False)
    LibraryEntry.objects.create(kind="lora", name="ink", path="loras/ink.safetensors", details={"keys": 64, "base_model_version": "sd_v1"})
    LibraryEntry.objects.create(kind="embedding", name="easyneg", path="embeddings/easyneg.pt", details={"shape": [2, 768]})
    [model] = basic_client.get("/sdapi/v1/sd-models").json()
    assert (model["title"], model["model_name"], model["hash"], model["filename"]) == (
        "dreamy [0123456789]", "dreamy", "0123456789", str(tmp_path / "pipelines/dreamy.safetensors"),
    )  # fmt: skip
    assert model["sha256"] == "0123456789abcdef" * 4
    assert basic_client.get("/sdapi/v1/loras").json() == [
        {"name": "ink", "alias": "ink", "path": str(tmp_path / "loras/ink.safetensors"), "metadata": {"ss_base_model_version": "sd_v1"}}
    ]
    embeddings = basic_client.get("/sdapi/v1/embeddings").json()
    easyneg = embeddings["loaded"]["easyneg"]
    assert embeddings["skipped"] == {} and (easyneg["vectors"], easyneg["shape"]) == (2, 768)
    samplers = basic_client.get("/sdapi/v1/samplers").json()
    assert {"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {"uses_ensd": True}} in samplers
    assert {sampler["name"] for sampler in samplers} >= {"DPM++ 2M", "Euler", "DDIM", "UniPC", "LCM"}
    schedulers = basic_client.get("/sdapi/v1/schedulers").json()
    assert [s["label"] for s in schedulers] == ["Automatic", "Normal", "Karras", "Exponential"] and set(schedulers[0]) == {
        "name", "label", "aliases", "default_rho", "need_inner_model",
    }  # fmt: skip
    upscalers = basic_client.get("/sdapi/v1/upscalers").json()  # no library: A1111's built-in ones
    assert [upscaler["name"] for upscaler in upscalers] == ["None", "Lanczos", "Nearest"]
    assert upscalers[1] == {"name": "Lanczos", "model_name": None, "model_path": None, "model_url": None, "scale": 4}
    assert basic_client.get("/sdapi/v1/latent-upscale-modes").json()[:2] == [{"name": "Latent"}, {"name": "Latent (antialiased)"}]
    assert basic_client.get("/sdapi/v1/sd-vae").json() == []
    assert basic_client.get("/sdapi/v1/scripts").json() == {"txt2img": ["controlnet"], "img2img": ["controlnet"]}


def test_controlnet_lists(basic_client, settings):
    settings.GARDEN_RETOUCH_LINEART_CONTROLNET = "/models/control_v11p_sd15_lineart"
    settings.GARDEN_RETOUCH_CANNY_CONTROLNET = ""
    assert basic_client.get("/controlnet/version").json() == {"version": 2}
    assert basic_client.get("/controlnet/settings").json() == {"control_net_unit_count": 3}
    assert basic_client.get("/controlnet/model_list").json() == {"model_list": ["control_v11p_sd15_lineart [lineart]"]}
    modules = basic_client.get("/controlnet/module_list").json()
    assert {"none", "lineart", "lineart_realistic", "canny", "reference_only"} <= set(modules["module_list"])
    assert set(modules["module_detail"]) == set(modules["module_list"])
    # sd-webui-controlnet's current names (scripts/supported_preprocessor.py)
    assert [slider["name"] for slider in modules["module_detail"]["canny"]["sliders"]] == [
        "Resolution", "Low Threshold", "High Threshold",
    ]  # fmt: skip
    assert [slider["name"] for slider in modules["module_detail"]["lineart"]["sliders"]] == ["Resolution"]
    # Every module listed is one an img2img unit takes (with the listed model for "none").
    for module in modules["module_list"]:
        unit = {"module": module, "model": "control_v11p_sd15_lineart [lineart]", "input_image": b64(encoded(noise()))}
        parsing._controls([unit])


def test_progress_and_interrupt_on_a_real_job(basic_client, diffusers_settings, no_enqueue, settings, monkeypatch):
    idle = basic_client.get("/sdapi/v1/progress").json()
    assert (idle["progress"], idle["state"]["job_count"], idle["current_image"]) == (0, 0, None)
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    job_id = basic_client.post("/sdapi/v1/txt2img", txt2img_body(steps=8), format="json").json()["job_id"]
    queued = basic_client.get("/sdapi/v1/progress?skip_current_image=true").json()
    assert (queued["progress"], queued["state"]["job_id"], queued["textinfo"]) == (0, job_id, "Queued")
    assert "skip_current_image" in basic_client.get("/sdapi/v1/progress?skip_current_image=maybe").json()

    # The worker's per-step callback: at its third step the client reads progress and interrupts.
    from generation.worker import runner

    seen, reporter = [], runner.StepReporter

    def watched(mine, *, base, steps, **options):
        on_step = reporter(mine, base=base, steps=steps, **options)

        def step(done):
            on_step(done)
            if done == 3:
                seen.append(basic_client.get("/sdapi/v1/progress").json())
                assert basic_client.post("/sdapi/v1/interrupt").json() == {}

        return step

    monkeypatch.setattr(runner, "StepReporter", watched)
    job = runner.execute_job(job_id=job_id)
    [running] = seen
    assert (running["progress"], running["state"]["sampling_step"], running["state"]["sampling_steps"]) == (0.375, 3, 8)
    assert running["eta_relative"] >= 0 and running["textinfo"] == "Step 3/8"
    assert job.status == "cancelled" and job.steps_done == 3 and job.images.count() == 0
    after = basic_client.get("/sdapi/v1/progress").json()
    assert after["progress"] == 0 and after["state"]["job_count"] == 0
    assert basic_client.post("/sdapi/v1/skip").json() == {}  # nothing running: nothing to stop


def test_interrogate_and_png_info(basic_client, retouch_settings, retouch_models):
    red = b64(encoded(Image.new("RGB", (32, 32), (230, 20, 20))))
    response = basic_client.post("/sdapi/v1/interrogate", {"image": red, "model": "clip"}, format="json")
    assert response.status_code == 503 and "GARDEN_RETOUCH_TAGGER_MODEL" in response.json()["detail"]
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = str(retouch_models["tagger"])
    caption = basic_client.post("/sdapi/v1/interrogate", {"image": red, "model": "deepdanbooru"}, format="json").json()["caption"]
    assert isinstance(caption, str) and caption.split(", ")[0] == "red flower"
    assert basic_client.post("/sdapi/v1/interrogate", {"image": "!!"}, format="json").status_code == 400
    assert basic_client.post("/sdapi/v1/png-info", {"image": b64(b"not a picture")}, format="json").status_code == 400
    plain = basic_client.post("/sdapi/v1/png-info", {"image": red}, format="json").json()
    assert plain == {"info": "", "items": {}, "parameters": {}}


def test_infotext_round_trip():
    text = answers.infotext(prompt="a fox, (sunset:1.2)", negative="blurry", settings={"Steps": 20, "Sampler": "Euler a", "Seed": 5,
                            "Size": "512x768", "Model": None})  # fmt: skip
    assert text == "a fox, (sunset:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, Seed: 5, Size: 512x768"
    assert answers.parse_infotext(text) == {
        "Prompt": "a fox, (sunset:1.2)", "Negative prompt": "blurry", "Steps": "20", "Sampler": "Euler a", "Seed": "5",
        "Size-1": "512", "Size-2": "768",
    }  # fmt: skip


def test_prompt_styles_are_edited_in_the_admin(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", password="pw-editor-1"))
    assert client.get("/admin/a1111/promptstyle/add/").status_code == 200
    response = client.post(
        "/admin/a1111/promptstyle/add/", {"name": "noir", "prompt": "film noir still of {prompt}", "negative_prompt": "colour"}
    )
    assert response.status_code == 302
    assert styles.apply_styles("a cat", "", ["noir"]) == ("film noir still of a cat", "colour")
    assert "noir" in client.get("/admin/a1111/promptstyle/").content.decode()


@pytest.mark.parametrize("route", ["/sdapi/v1/no-such-route", "/sdapi/v2/txt2img", "/sdapi/"])
def test_an_unknown_sdapi_route_is_a_json_404(basic_client, route):
    for method in (basic_client.get, basic_client.post):
        response = method(route)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["detail"] == "Not Found"  # FastAPI's body, as A1111 answers it
