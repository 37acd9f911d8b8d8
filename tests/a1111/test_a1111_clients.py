"""Real SD clients' default calls, replayed as each client's own source builds them (docs/a1111.md's
client table; ../shared/docs/SD-CLIENTS.md names the versions). Each must be answered as A1111
would, or refused naming the one field that cannot be painted.

Sources read (file @ commit):

- webuiapi 0.9.17, ``webuiapi/webuiapi.py`` (the installed package, requirements/dev.txt): txt2img
  and img2img payloads with ``eta=1.0``, ``sampler_name``/``sampler_index`` "Euler a", ``scheduler``
  from ``default_scheduler``; ``util_set_model`` posts ``{"sd_model_checkpoint"}``.
- SillyTavern, ``public/scripts/extensions/stable-diffusion/index.js`` and
  ``src/endpoints/stable-diffusion.js``, ``src/util.js`` @ ba6f7b7: defaults ``sampler: "DDIM"``,
  ``scheduler: "normal"``, ``hr_scale: 2.0``, the body forwards ``{url, auth}``; every call sends
  ``Authorization: Basic base64(auth)`` (``Basic `` when the auth field is empty); interrupts on disconnect.
- Open WebUI, ``backend/open_webui/routers/images.py`` (upstream 02530d5 per SD-CLIENTS.md; the
  stored copy read here is a fork with the same A1111 calls): GET options, POST the whole options
  object back with a new ``sd_model_checkpoint``; txt2img ``{prompt, batch_size, width, height, steps,
  negative_prompt}``; ``Basic `` + base64 of the (empty) auth string.
- Cyanic SD-Krita, ``cyanic/sdapi_v1.py`` and ``cyanic/default_settings.json`` @ 5678aa1: probe
  ``GET /queue/status`` first; ``cleanup_data`` moves ``color_correction`` (default true) into
  ``override_settings.img2img_color_correction``, sets ``override_settings_restore_afterwards: false``;
  urllib without any header (host + path: a client key goes in the host URL).
- Auto-Photoshop-StableDiffusion-Plugin, ``utility/session.js`` @ 6f6d490: ``seed: seed.toString()``,
  ``sampler_index``, ``mask_blur: 4``, ``restore_faces``/``tiling`` false, plugin keys
  (``uniqueDocumentId``, ``mode``, ``use_sharp_mask``, …), ``alwayson_scripts: {}`` without ADetailer.
- AI-Render, ``sd_backends/automatic1111_api.py`` and ``operators.py`` @ a1e4a91: img2img with
  ``sampler_index`` = ``sampler`` (default "LMS"; its list has DPM2, DPM2 a Karras, LMS Karras, DPM++
  2M SDE Exponential, …), ``image_similarity`` and a ``data:`` init image.
- stable-gimpfusion, ``stable_gimpfusion.py`` @ 3a92fcf: ``sampler_index`` "Euler a", ``cfg_scale``
  7.5, ``steps`` 50, ``denoising_strength`` 0.8 in txt2img too, ``seed`` -1.
- SwarmUI, ``src/BuiltinExtensions/AutoWebUIBackend/AutoWebUIAPIAbstractBackend.cs`` @ 062407c: POST
  options ``{sd_model_checkpoint}`` before every generation, txt2img with ``subseed``,
  ``subseed_strength`` and ``sampler_name`` "Euler".
- AUTOMATIC1111, ``modules/progress.py`` (``/internal/progress``, ``/internal/pending-tasks``),
  ``modules/sd_samplers_kdiffusion.py``, ``modules/processing.py`` (hires "do nothing" at scale 1).
"""

from __future__ import annotations

import base64
import io
import json
import logging

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from a1111 import keypath
from a1111.models import ClientJob
from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from infra.client_keys import issue
from infra.models import ClientKey
from tests.retouch.retouch_support import encoded, noise

pytestmark = pytest.mark.django_db


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("artist", password="pw-artist-secret", is_staff=True)


@pytest.fixture
def basic(staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + b64(b"artist:pw-artist-secret"))
    return client


@pytest.fixture
def queued(settings, no_enqueue, diffusers_settings):
    """Nothing runs the jobs: a call that was accepted answers 504 with its job (GARDEN_A1111_WAIT_SECONDS 0)."""
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    return no_enqueue


def key_for(user, name: str) -> str:
    return issue(ClientKey(user=user, name=name), by=user)


def pixels(value: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(value))).convert("RGB"))


def accepted_job(response) -> GenerationJob:
    assert response.status_code == 504, response.content  # accepted and queued: not a 400
    return GenerationJob.objects.get(pk=response.json()["job_id"])


# --- the clients' default bodies, as their sources build them (tiny sizes and steps) ----------------

WEBUIAPI_TXT2IMG = {
    "enable_hr": False, "denoising_strength": 0.7, "firstphase_width": 0, "firstphase_height": 0, "hr_scale": 2,
    "hr_upscaler": "Latent", "hr_second_pass_steps": 0, "hr_resize_x": 0, "hr_resize_y": 0, "hr_checkpoint_name": None,
    "hr_sampler_name": None, "hr_scheduler": None, "hr_prompt": "", "hr_negative_prompt": "", "prompt": "a red flower",
    "styles": [], "seed": 42, "subseed": -1, "subseed_strength": 0.0, "seed_resize_from_h": 0, "seed_resize_from_w": 0,
    "batch_size": 1, "n_iter": 1, "steps": 2, "cfg_scale": 7.0, "width": 64, "height": 64, "restore_faces": False,
    "tiling": False, "do_not_save_samples": False, "do_not_save_grid": False, "negative_prompt": "", "eta": 1.0,
    "s_min_uncond": 0, "s_churn": 0, "s_tmax": 0, "s_tmin": 0, "s_noise": 1, "override_settings": {},
    "override_settings_restore_afterwards": True, "sampler_name": "Euler a", "scheduler": "Automatic",
    "sampler_index": "Euler a", "script_name": None, "script_args": [], "send_images": True, "save_images": False,
    "alwayson_scripts": {}, "infotext": None,
}  # fmt: skip
SILLYTAVERN_TXT2IMG = {
    "url": "http://garden.local:8000", "auth": "", "prompt": "a red flower", "negative_prompt": "lowres",
    "sampler_name": "DDIM", "scheduler": "normal", "steps": 2, "cfg_scale": 7, "width": 64, "height": 64,
    "restore_faces": False, "enable_hr": False, "hr_upscaler": "Latent", "hr_scale": 2.0, "denoising_strength": 0.7,
    "hr_second_pass_steps": 0, "override_settings": {"CLIP_stop_at_last_layers": 1},
    "override_settings_restore_afterwards": True, "clip_skip": 1, "save_images": True, "send_images": True,
    "do_not_save_grid": False, "do_not_save_samples": False,
}  # fmt: skip
OPEN_WEBUI_TXT2IMG = {"prompt": "a red flower", "batch_size": 1, "width": 64, "height": 64, "steps": 2, "negative_prompt": ""}
CYANIC_TXT2IMG = {
    "prompt": "a red flower", "negative_prompt": "", "width": 64, "height": 64, "seed": -1, "subseed": -1,
    "subseed_strength": 0.0, "cfg_scale": 7, "batch_size": 1, "n_iter": 1, "steps": 2, "sampler_name": "Euler a",
    "styles": [], "override_settings": {"sd_model_checkpoint": None, "sd_vae": "Automatic", "img2img_color_correction": True},
    "override_settings_restore_afterwards": False, "refiner": "",
}  # fmt: skip
PHOTOSHOP_TXT2IMG = {
    "prompt": "a red flower", "negative_prompt": "", "original_prompt": "a red flower", "original_negative_prompt": "",
    "alwayson_scripts": {}, "clip_skip": 1, "steps": 2, "sampler_index": "Euler a", "width": 64, "height": 64,
    "denoising_strength": 0.7, "batch_size": 1, "cfg_scale": 7, "seed": "-1", "mask_blur": 4, "use_sharp_mask": False,
    "use_prompt_shortcut": False, "prompt_shortcut_ui_dict": {}, "uniqueDocumentId": "doc-1", "mode": "txt2img",
    "restore_faces": False, "tiling": False,
}  # fmt: skip
GIMPFUSION_TXT2IMG = {
    "prompt": "a red flower", "negative_prompt": "", "cfg_scale": 7.5, "denoising_strength": 0.8, "steps": 2, "width": 64,
    "height": 64, "sampler_index": "Euler a", "batch_size": 1, "seed": -1,
}  # fmt: skip
SWARMUI_TXT2IMG = {
    "prompt": "a red flower", "negative_prompt": "", "seed": 7, "steps": 2, "width": 64, "height": 64, "batch_size": 1,
    "cfg_scale": 7, "subseed": 0, "subseed_strength": 0, "sampler_name": "Euler",
}  # fmt: skip


def ai_render_img2img(sampler: str = "LMS") -> dict:
    return {
        "prompt": "a red flower", "negative_prompt": "", "width": 64, "height": 64, "image_similarity": 0.4, "seed": 3,
        "cfg_scale": 7, "steps": 2, "sampler": sampler, "denoising_strength": 0.6, "sampler_index": sampler,
        "init_images": ["data:image/png;base64," + b64(encoded(noise()))],
    }  # fmt: skip


WEBUIAPI_IMG2IMG = {
    "init_images": [None], "resize_mode": 0, "denoising_strength": 0.75, "image_cfg_scale": 1.5, "mask": None,
    "mask_blur": 4, "inpainting_fill": 0, "inpaint_full_res": True, "inpaint_full_res_padding": 0,
    "inpainting_mask_invert": 0, "initial_noise_multiplier": 1, "prompt": "a red flower", "styles": [], "seed": 3,
    "subseed": -1, "subseed_strength": 0, "seed_resize_from_h": 0, "seed_resize_from_w": 0, "batch_size": 1, "n_iter": 1,
    "steps": 2, "cfg_scale": 7.0, "width": 64, "height": 64, "restore_faces": False, "tiling": False,
    "do_not_save_samples": False, "do_not_save_grid": False, "negative_prompt": "", "eta": 1.0, "s_churn": 0, "s_tmax": 0,
    "s_tmin": 0, "s_noise": 1, "override_settings": {}, "override_settings_restore_afterwards": True,
    "sampler_name": "Euler a", "sampler_index": "Euler a", "scheduler": "Automatic", "include_init_images": False,
    "script_name": None, "script_args": [], "send_images": True, "save_images": False, "alwayson_scripts": {},
    "enable_hr": False,
}  # fmt: skip

TXT2IMG_DEFAULTS = {
    "webuiapi": WEBUIAPI_TXT2IMG,
    "sillytavern": SILLYTAVERN_TXT2IMG,
    "open-webui": OPEN_WEBUI_TXT2IMG,
    "cyanic": CYANIC_TXT2IMG,
    "photoshop": PHOTOSHOP_TXT2IMG,
    "gimpfusion": GIMPFUSION_TXT2IMG,
    "swarmui": SWARMUI_TXT2IMG,
}


@pytest.mark.parametrize("client_name", sorted(TXT2IMG_DEFAULTS))
def test_each_clients_default_txt2img_is_accepted(basic, queued, client_name):
    job = accepted_job(basic.post("/sdapi/v1/txt2img", TXT2IMG_DEFAULTS[client_name], format="json"))
    assert (job.width, job.height, job.steps) == (64, 64, 2)
    sampler = {"sillytavern": "ddim", "swarmui": "euler", "open-webui": None}.get(client_name, "euler_a")
    assert job.options.get("sampler") == sampler  # DDIM + "normal": DDIM (A1111 ignores the scheduler there)


@pytest.mark.parametrize(
    ("sampler", "ours"),
    [("DPM2", "dpm2_karras"), ("DPM2 a", "dpm2_a_karras"), ("DPM2 Karras", "dpm2_karras"), ("DPM2 a Karras", "dpm2_a_karras"),
     ("LMS Karras", "lms_karras"), ("LMS", "lms"), ("DPM++ 2M SDE", "dpm++_2m_sde_exponential"),
     ("DPM++ 2M SDE Karras", "dpm++_2m_sde_karras"), ("DPM++ 2M SDE Exponential", "dpm++_2m_sde_exponential"),
     ("DPM++ 2M Karras", "dpm++_karras"), ("PLMS", "pndm"), ("UniPC", "unipc"), ("Heun", "heun")],
)  # fmt: skip
def test_ai_render_samplers_are_painted_where_diffusers_has_them(basic, queued, sampler, ours):
    job = accepted_job(basic.post("/sdapi/v1/img2img", ai_render_img2img(sampler), format="json"))
    assert job.kind == "retouch" and job.retouch_job.options["sampler"] == ours


@pytest.mark.parametrize("sampler", ["DPM++ SDE Karras", "DPM++ 2S a", "DPM fast", "DPM adaptive", "Restart", "DPM++ 3M SDE"])
def test_samplers_diffusers_cannot_paint_are_refused_naming_sampler_name(basic, queued, sampler):
    response = basic.post("/sdapi/v1/txt2img", {**GIMPFUSION_TXT2IMG, "sampler_index": sampler}, format="json")
    assert response.status_code == 400 and "cannot be painted here" in response.json()["sampler_name"][0]
    assert not GenerationJob.objects.exists()


def test_webuiapi_default_img2img_and_its_ignored_fields(basic, queued):
    body = {**WEBUIAPI_IMG2IMG, "init_images": [b64(encoded(noise()))], "include_init_images": True, "enable_hr": True,
            "alwayson_scripts": {"ADetailer": {"args": [False]}, "ControlNet": {"args": []}}}  # fmt: skip
    job = accepted_job(basic.post("/sdapi/v1/img2img", body, format="json"))
    assert job.kind == "retouch"


def test_hr_scale_1_is_one_pass_as_a1111(basic, queued):
    job = accepted_job(basic.post("/sdapi/v1/txt2img", {**SILLYTAVERN_TXT2IMG, "enable_hr": True, "hr_scale": 1}, format="json"))
    assert (job.width, job.height) == (64, 64) and "hires" not in job.options


def test_ddim_eta_is_painted_and_ancestral_eta_refused(basic, queued):
    job = accepted_job(basic.post("/sdapi/v1/txt2img", {**WEBUIAPI_TXT2IMG, "sampler_name": "DDIM"}, format="json"))
    assert job.options["sampler"] == "ddim" and job.options["eta"] == 1.0
    ignored = accepted_job(basic.post("/sdapi/v1/txt2img", {**WEBUIAPI_TXT2IMG, "sampler_name": "Euler", "eta": 0.3}, format="json"))
    assert "eta" not in ignored.options  # Euler takes no eta: ignored, as in A1111
    refused = basic.post("/sdapi/v1/txt2img", {**WEBUIAPI_TXT2IMG, "eta": 0.5}, format="json")  # Euler a: diffusers' eta is 1
    assert refused.status_code == 400 and "eta" in refused.json()


@pytest.mark.django_db(transaction=True)
def test_sillytavern_default_paints_ddim_and_the_echo_holds_only_a1111_fields(basic, diffusers_settings, eager_celery):
    response = basic.post("/sdapi/v1/txt2img", {**SILLYTAVERN_TXT2IMG, "auth": "user:secret"}, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    info = json.loads(answer["info"])
    assert info["sampler_name"] == "DDIM" and GenerationJob.objects.get(pk=info["job_id"]).status == "succeeded"
    assert "auth" not in answer["parameters"] and "url" not in answer["parameters"] and "clip_skip" not in answer["parameters"]
    assert answer["parameters"]["sampler_name"] == "DDIM" and "secret" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_ddim_eta_changes_the_picture(basic, diffusers_settings, eager_celery):
    body = {**WEBUIAPI_TXT2IMG, "sampler_name": "DDIM", "steps": 3}
    with_eta = basic.post("/sdapi/v1/txt2img", body, format="json").json()["images"][0]
    without = basic.post("/sdapi/v1/txt2img", {**body, "eta": 0}, format="json").json()["images"][0]
    assert not np.array_equal(pixels(with_eta), pixels(without))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sampler", ["DPM2 a Karras", "DPM++ 2M SDE Exponential", "LMS Karras"])
def test_new_samplers_paint(basic, diffusers_settings, eager_celery, sampler):
    response = basic.post("/sdapi/v1/txt2img", {**GIMPFUSION_TXT2IMG, "sampler_index": sampler, "seed": 5}, format="json")
    assert response.status_code == 200, response.content
    assert json.loads(response.json()["info"])["sampler_name"] == sampler.rsplit(" ", 1)[0]


# --- identity ---------------------------------------------------------------------------------------


def test_an_empty_basic_header_counts_as_no_credentials(settings, diffusers_settings):
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE, "celery"], details={"pid": 1})
    empty = APIClient()
    empty.credentials(HTTP_AUTHORIZATION="Basic ")  # SillyTavern and Open WebUI with an empty auth field
    response = empty.get("/sdapi/v1/options")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    assert empty.get("/sdapi/v1/options").status_code == 200
    empty.credentials(HTTP_AUTHORIZATION="Basic " + b64(b":"))
    assert empty.get("/sdapi/v1/options").status_code == 200


def test_a_client_key_in_the_base_url_is_its_own_caller(staff, queued):
    gimp, krita = key_for(staff, "GIMP"), key_for(staff, "Krita")
    anonymous = APIClient()  # no header at all, from an untrusted setup
    assert anonymous.get("/queue/status").status_code == 401
    probe = anonymous.get(f"/k/{krita}/queue/status")  # Cyanic's probe
    assert probe.status_code == 200 and probe.json()["msg"] == "estimation" and probe.json()["queue_size"] == 0
    job = accepted_job(anonymous.post(f"/k/{gimp}/sdapi/v1/txt2img", GIMPFUSION_TXT2IMG, format="json"))
    assert job.created_by == staff
    gimp_progress = anonymous.get(f"/k/{gimp}/sdapi/v1/progress").json()
    krita_progress = anonymous.get(f"/k/{krita}/sdapi/v1/progress").json()
    assert gimp_progress["state"]["job_id"] == str(job.pk) and krita_progress["state"]["job_count"] == 0
    assert anonymous.post(f"/k/{krita}/sdapi/v1/interrupt").status_code == 200  # Krita's interrupt leaves GIMP's job
    job.refresh_from_db()
    assert job.status == "queued"
    assert anonymous.get(f"/k/egk_{'x' * 43}/sdapi/v1/options").status_code == 401  # a wrong key


def test_client_keys_never_reach_the_access_log(staff, caplog):
    secret = key_for(staff, "Blender")
    keypath.install_log_filters()
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logging.getLogger("gunicorn.access").info(
            '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.5", "r": f"GET /k/{secret}/sdapi/v1/options HTTP/1.1", "s": "200"}
        )
    assert secret not in caplog.text and "/k/egk_…/sdapi/v1/options" in caplog.text


# --- model choice, cancel, tasks ---------------------------------------------------------------------


def test_open_webui_posts_the_whole_options_object_back(basic, settings, diffusers_settings):
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE, "celery"], details={"pid": 1})
    options = basic.get("/sdapi/v1/options").json()
    response = basic.post("/sdapi/v1/options", {**options, "sd_model_checkpoint": options["sd_model_checkpoint"]}, format="json")
    assert response.status_code == 200 and response.content == b"null"


def test_interrupt_cancels_the_callers_queued_job(basic, queued):
    job = accepted_job(basic.post("/sdapi/v1/txt2img", SILLYTAVERN_TXT2IMG, format="json"))
    assert basic.post("/sdapi/v1/interrupt").json() == {}
    job.refresh_from_db()
    assert job.status == "cancelled"  # SillyTavern interrupts when its user gives up: nothing stays queued


def test_force_task_id_and_a1111s_task_routes(basic, queued):
    body = {**WEBUIAPI_TXT2IMG, "force_task_id": "task(abc123)"}
    job = accepted_job(basic.post("/sdapi/v1/txt2img", body, format="json"))
    assert ClientJob.objects.get(job=job).task_id == "task(abc123)"
    assert basic.get("/internal/pending-tasks").json() == {"size": 1, "tasks": ["task(abc123)"]}
    progress = basic.post("/internal/progress", {"id_task": "task(abc123)", "id_live_preview": -1}, format="json").json()
    assert progress["queued"] is True and progress["active"] is False and progress["textinfo"] == "In queue: 1/1"
    unknown = basic.post("/internal/progress", {"id_task": "task(nope)"}, format="json").json()
    assert (unknown["queued"], unknown["completed"], unknown["textinfo"]) == (False, False, "Waiting...")


def test_honest_lists(basic, diffusers_settings):
    assert basic.get("/sdapi/v1/hypernetworks").json() == []
    assert basic.get("/sdapi/v1/face-restorers").json() == []
    assert basic.get("/sdapi/v1/realesrgan-models").json() == []  # no library: no upscalers
    assert basic.get("/sdapi/v1/script-info").json() == []
    assert {e["name"] for e in basic.get("/sdapi/v1/extensions").json()} == {"sd-webui-controlnet", "stable-diffusion-webui-wd14-tagger"}
    types = basic.get("/controlnet/control_types").json()["control_types"]
    assert {"All", "Lineart", "Canny", "Reference", "IP-Adapter"} <= set(types)
    assert set(types["Canny"]) == {"module_list", "model_list", "default_option", "default_model"}
    assert types["Canny"]["default_option"] == "canny" and types["Canny"]["model_list"][0] == "None"
    for route in ("/sdapi/v1/refresh-vae", "/sdapi/v1/refresh-embeddings"):
        response = basic.post(route)
        assert response.status_code == 200 and response.content == b"null"


# --- ControlNet units in txt2img (webuiapi's controlnet_units, GIMP, Photoshop, Cyanic) ----------------


def webuiapi_unit(**extra) -> dict:
    """webuiapi 0.9.17's ControlNetUnit.to_dict() with its defaults (a picture given)."""
    return {
        "input_image": b64(encoded(noise(seed=3))), "mask": None, "module": "lineart", "model": "control_v11p_sd15_lineart",
        "weight": 1.0, "resize_mode": "Resize and Fill", "lowvram": False, "processor_res": 512, "threshold_a": 64,
        "threshold_b": 64, "guidance": 1.0, "guidance_start": 0.0, "guidance_end": 1.0, "control_mode": "Balanced",
        "pixel_perfect": False, "hr_option": "Both", **extra,
    }  # fmt: skip


def test_txt2img_takes_controlnet_units_as_img2img_does(basic, queued, retouch_settings, retouch_models):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    body = {**WEBUIAPI_TXT2IMG, "alwayson_scripts": {"ControlNet": {"args": [webuiapi_unit()]}}}
    job = accepted_job(basic.post("/sdapi/v1/txt2img", body, format="json"))
    options = job.retouch_job.options
    assert job.kind == "retouch" and [control["type"] for control in options["controls"]] == ["lineart"]
    assert options["strength"] == 1.0 and options["color_match"] is False and (job.width, job.height) == (64, 64)
    # A unit without its picture cannot be painted from text: named, as A1111's ControlNet refuses it.
    missing = basic.post(
        "/sdapi/v1/txt2img", {**body, "alwayson_scripts": {"controlnet": {"args": [webuiapi_unit(input_image="")]}}}, format="json"
    )
    assert missing.status_code == 400 and "alwayson_scripts.ControlNet.args[0].input_image" in missing.json()
    # Photoshop's disabled units ([false, false, false]) are a plain txt2img.
    plain = accepted_job(
        basic.post("/sdapi/v1/txt2img", {**PHOTOSHOP_TXT2IMG, "alwayson_scripts": {"controlnet": {"args": [False, False]}}}, format="json")
    )
    assert plain.kind == "images"


def test_numbers_sent_as_text_are_read_and_nonsense_refused(basic, queued):
    job = accepted_job(basic.post("/sdapi/v1/txt2img", {**PHOTOSHOP_TXT2IMG, "seed": "1234", "cfg_scale": "6.5"}, format="json"))
    assert (job.seed, job.guidance) == (1234, 6.5)
    for value in ("nan", "many"):
        response = basic.post("/sdapi/v1/txt2img", {**PHOTOSHOP_TXT2IMG, "cfg_scale": value}, format="json")
        assert response.status_code == 400 and "cfg_scale" in response.json()
