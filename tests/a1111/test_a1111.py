"""The AUTOMATIC1111-compatible subset: /sdapi/v1/img2img, /sdapi/v1/options, /controlnet/detect,
/tagger/v1/interrogate and /tagger/v1/interrogators, as A1111 clients call them."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from generation.models import GenerationJob
from retouch.services import edge_map_png
from tests.retouch.retouch_support import box_mask, encoded, mask_png, noise, outside_feather

pytestmark = pytest.mark.django_db


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def basic_client(django_user_model):
    """A1111 clients authenticate with HTTP Basic (``--api-auth``): a staff user here."""
    django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + b64(b"a1111:pw-a1111-secret"))
    return client


def img2img_body(**extra) -> dict:
    return {
        "init_images": [b64(encoded(noise()))],
        "mask": "data:image/png;base64," + b64(mask_png()),
        "mask_blur": 4,
        "inpainting_fill": 1,
        "inpaint_full_res": 1,
        "inpaint_full_res_padding": 32,
        "inpainting_mask_invert": 0,
        "denoising_strength": 0.6,
        "initial_noise_multiplier": 1.0,
        "prompt": "masterpiece, realistic, photorealistic",
        "negative_prompt": "blurry",
        "seed": 42,
        "steps": 4,
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "sampler_name": "DPM++ 2M Karras",
        "batch_size": 1,
        "n_iter": 1,
        "styles": [],
        "save_images": False,
        "send_images": True,
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_img2img_answers_a1111s_shape_once_the_job_is_done(basic_client, retouch_settings, eager_celery):
    body = img2img_body(batch_size=2)
    response = basic_client.post("/sdapi/v1/img2img", body, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert len(answer["images"]) == 2 and answer["parameters"]["init_images"] is None and answer["parameters"]["mask"] is None
    info = json.loads(answer["info"])
    assert (info["seed"], info["all_seeds"], info["width"], info["height"], info["denoising_strength"]) == (42, [42, 43], 96, 64, 0.6)
    job = GenerationJob.objects.get(pk=info["job_id"])
    assert (
        job.kind,
        job.retouch_job.options["sampler"],
        job.retouch_job.options["masked_content"],
        job.retouch_job.options["work_size"],
    ) == (
        "retouch",
        "dpm++_karras",
        "original",
        64,
    )
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["images"][0]))))
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert pixels.shape == (64, 96, 3) and (pixels[outside] == np.asarray(noise())[outside]).all()


def test_img2img_maps_fields_and_controlnet_units(basic_client, retouch_settings, retouch_models, no_enqueue, settings):
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    retouch_settings.GARDEN_RETOUCH_IP_ADAPTER = str(retouch_models["ip_adapter"])
    units = [
        {"enabled": True, "input_image": b64(encoded(noise(seed=3))), "module": "lineart", "model": "control_v11p_sd15_lineart",
         "weight": 0.9, "guidance_start": 0.1, "guidance_end": 0.8, "control_mode": "ControlNet is more important"},
        {"enabled": True, "module": "reference_only", "weight": 0.5, "control_mode": 0},
        {"enabled": False, "module": "openpose"},
    ]  # fmt: skip
    body = img2img_body(
        inpainting_fill=0, inpainting_mask_invert=1, inpaint_full_res=0, seed=-1, alwayson_scripts={"ControlNet": {"args": units}}
    )
    response = basic_client.post("/sdapi/v1/img2img", body, format="json")
    assert response.status_code == 504, response.content  # nothing runs the job here: past the wait, its id
    job = GenerationJob.objects.get(pk=response.json()["job_id"])
    assert response.json()["status_url"].endswith(f"/api/v1/jobs/{job.pk}") and response["Location"] == response.json()["status_url"]
    retouch = job.retouch_job.options
    assert (retouch["masked_content"], retouch["invert_mask"], retouch["rect"]) == ("fill", True, [0, 0, 64, 64])  # width x height
    [control] = retouch["controls"]
    assert (control["type"], control["scale"], control["start"], control["end"], control["mode"], control["has_image"]) == (
        "lineart",
        0.9,
        0.1,
        0.8,
        2,
        True,
    )
    assert retouch["reference"] == {"scale": 0.3, "has_image": False}  # Rough: mode 0, weight 0.5
    assert set(job.retouch_job.uploads) == {"source", "mask", "control-0"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"tiling": True}, "tiling"),
        ({"script_name": "outpainting mk2"}, "script_name"),
        ({"alwayson_scripts": {"ADetailer": {"args": [True]}}}, "ADetailer"),
        ({"alwayson_scripts": {"ControlNet": {"args": [{"module": "openpose", "input_image": "AAAA"}]}}}, "openpose"),
        ({"alwayson_scripts": {"ControlNet": {"args": [{"module": "none", "model": "depth"}]}}}, "module"),
        ({"sampler_name": "Euler Ancestral Turbo"}, "sampler_name"),
        ({"init_images": []}, "init_images"),
        ({"init_images": ["!!not base64!!"]}, "init_images"),
        ({"inpainting_fill": 7}, "inpainting_fill"),
        ({"denoising_strength": 0}, "strength"),
        ({"steps": 1, "denoising_strength": 0.5}, "strength"),
        ({"prompt": ["a", "list"]}, "prompt"),
    ],
)
def test_img2img_refuses_what_it_cannot_do_by_name(basic_client, retouch_settings, no_enqueue, extra, field):
    response = basic_client.post("/sdapi/v1/img2img", img2img_body(**extra), format="json")
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json()) and not GenerationJob.objects.exists()


def test_img2img_auth_and_body_caps(api_client, basic_client, django_user_model, retouch_settings, no_enqueue, settings):
    anonymous = api_client.post("/sdapi/v1/img2img", img2img_body(), format="json")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Basic")
    django_user_model.objects.create_user("visitor", password="pw-visitor-secret")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Basic " + b64(b"visitor:pw-visitor-secret"))
    assert stranger.post("/sdapi/v1/img2img", img2img_body(), format="json").status_code == 403
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    big = img2img_body(init_images=[b64(encoded(noise(330, 220)))])  # ~290 KB of JSON: past the kiosk's 256 KiB cap
    assert len(json.dumps(big)) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert basic_client.post("/sdapi/v1/img2img", big, format="json").status_code == 504
    settings.GARDEN_RETOUCH_MAX_BODY_BYTES = 100_000
    assert basic_client.post("/sdapi/v1/img2img", big, format="json").status_code == 413


def test_img2img_holds_a_bounded_number_of_waiting_threads(basic_client, retouch_settings, no_enqueue, settings):
    from a1111.views import waiting

    settings.GARDEN_A1111_MAX_WAITING = 1
    with waiting.hold():  # another request of this process is waiting
        response = basic_client.post("/sdapi/v1/img2img", img2img_body(), format="json")
    assert response.status_code == 503 and "GARDEN_A1111_MAX_WAITING" in response.json()["detail"]
    assert not GenerationJob.objects.exists() and waiting.waiting == 0


def test_options_is_503_without_a_gpu_worker_or_a_model(basic_client, retouch_settings, settings):
    settings.GARDEN_RETOUCH_PING_TIMEOUT = 0.2
    settings.GARDEN_GPU_QUEUE = "gpu-nobody-listens"
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 503 and "gpu-nobody-listens" in response.json()["detail"]
    retouch_settings.GARDEN_GENERATOR_BACKEND = "procedural"  # the demo paints (test_a1111_options): any worker will do
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 503 and "No worker was seen" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/controlnet/detect", "/controlnet/detect-only"])
def test_controlnet_detect(basic_client, path):
    body = {"controlnet_module": "lineart", "controlnet_input_images": [b64(encoded(noise()))], "controlnet_processor_res": 128,
            "controlnet_threshold_a": 64, "controlnet_threshold_b": 64}  # fmt: skip
    answer = basic_client.post(path, body, format="json").json()
    assert answer["info"] == "Success"
    with Image.open(io.BytesIO(base64.b64decode(answer["images"][0]))) as edges:
        assert edges.size == (192, 128) and edges.mode == "L"
        lines = np.asarray(edges) > 127
    assert 0 < lines.mean() < 0.9  # white lines on black: some edges found, not a blank or white map
    # Same map as the retouch page's own edge endpoint (one edge-map service behind both).
    assert (
        answer["images"][0]
        == base64.b64encode(
            edge_map_png(picture=Image.open(io.BytesIO(encoded(noise()))), detector="lineart", low=64, high=64, resolution=128)
        ).decode()
    )
    canny = basic_client.post(
        path, {**body, "controlnet_module": "canny", "controlnet_threshold_a": 50, "controlnet_threshold_b": 120}, format="json"
    )
    assert canny.status_code == 200
    assert basic_client.post(path, {**body, "controlnet_module": "depth_midas"}, format="json").status_code == 400
    assert basic_client.post(path, {**body, "controlnet_input_images": ["AAAA"]}, format="json").status_code == 400


def test_tagger_endpoints(basic_client, retouch_settings, retouch_models):
    red = b64(encoded(Image.new("RGB", (32, 32), (230, 20, 20))))
    assert basic_client.get("/tagger/v1/interrogators").json() == {"models": []}
    response = basic_client.post(
        "/tagger/v1/interrogate", {"image": red, "model": "wd-v1-4-moat-tagger.v2", "threshold": 0.35}, format="json"
    )
    assert response.status_code == 503 and "GARDEN_RETOUCH_TAGGER_MODEL" in response.json()["detail"]
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = str(retouch_models["tagger"])
    assert basic_client.get("/tagger/v1/interrogators").json() == {"models": ["tiny-tagger"]}
    caption = basic_client.post("/tagger/v1/interrogate", {"image": red, "model": "wd-v1-4-moat-tagger.v2"}, format="json").json()[
        "caption"
    ]
    assert "red flower" in caption["tag"] and caption["rating"]["general"] > 0.8
    assert basic_client.post("/tagger/v1/interrogate", {"image": red, "threshold": 3}, format="json").status_code == 400


def test_img2img_fix_steps_runs_exactly_the_steps_asked(basic_client, retouch_settings, no_enqueue, settings):
    """A1111's ``img2img_fix_steps``: ``steps`` denoising steps whatever the strength (a schedule of
    ``int(steps / denoising)``), per request (override_settings) or for the server (options)."""
    settings.GARDEN_A1111_WAIT_SECONDS = 0

    def job_for(**extra) -> GenerationJob:
        response = basic_client.post("/sdapi/v1/img2img", img2img_body(**extra), format="json")
        assert response.status_code == 504, response.content  # nothing runs the job here
        return GenerationJob.objects.get(pk=response.json()["job_id"])

    plain = job_for()
    assert (plain.steps, plain.retouch_job.options["steps_run"]) == (4, 2)  # int(4 x 0.6)
    fixed = job_for(override_settings={"img2img_fix_steps": True})
    assert (fixed.steps, fixed.retouch_job.options["steps_run"]) == (6, 4)  # int(4 / 0.6) scheduled, 4 run
    one = job_for(steps=1, denoising_strength=0.5, override_settings={"img2img_fix_steps": True})
    assert one.retouch_job.options["steps_run"] == 1  # a 400 without the option: 1 x 0.5 runs no step

    from a1111 import options  # GET /sdapi/v1/options answers this object while a GPU worker is present

    assert options.options_object([])["img2img_fix_steps"] is False
    assert basic_client.post("/sdapi/v1/options", {"img2img_fix_steps": True}, format="json").status_code == 200
    assert options.options_object([])["img2img_fix_steps"] is True
    assert job_for().retouch_job.options["steps_run"] == 4
    assert job_for(override_settings={"img2img_fix_steps": False}).retouch_job.options["steps_run"] == 2
    response = basic_client.post("/sdapi/v1/options", {"img2img_fix_steps": "yes"}, format="json")
    assert response.status_code == 400 and "img2img_fix_steps" in response.json()
