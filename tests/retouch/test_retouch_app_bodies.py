"""The retouch app's own calls, replayed: the bodies its backend (moykeen/ai-retouch-app,
``infra/lambda``: generate.py, edge.py, app_server_status.py) builds, field for field, with small
synthetic pictures in place of the users' photographs.

The app's server ran A1111 without ``--api-auth`` and with canny/lineart preprocessors as identity
(its ``--myapp`` flag), so here: GARDEN_A1111_TRUSTED_CLIENTS lists the test client's address, no
credentials are sent, and GARDEN_A1111_CONTROL_PASSTHROUGH is on. What must hold: the edited edge
map reaches the ControlNet as drawn, the health probe answers within the app's 2 s without a broker,
and the picture comes back at the size the app expects (width × height, ``inpaint_full_res: 0``).
"""

import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw
from rest_framework.test import APIClient

from a1111.resize import resize_image
from generation.dispatch.beacon import record_presence
from generation.models import GenerationJob
from retouch import imaging
from retouch.engine import RetouchEngine
from retouch.uploads import read_upload
from tests.retouch.retouch_support import encoded, noise, outside_feather

pytestmark = pytest.mark.django_db(transaction=True)

SHORTEST_TARGET = 512  # generate.py


def limit_size(width: int, height: int):  # generate.py, as written there
    if width < height:
        new_width = SHORTEST_TARGET
        new_height = int(new_width / width * height)
    else:
        new_height = SHORTEST_TARGET
        new_width = int(new_height / height * width)
    return new_width, new_height


def data_url(picture: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(encoded(picture)).decode()


def decoded(text: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(text.split(",")[-1])))


def edge_body(img_str: str) -> dict:  # edge.py
    return {
        "controlnet_module": "lineart",
        "controlnet_input_images": [img_str],
        "controlnet_processor_res": 512,
        "controlnet_threshold_a": 64,
        "controlnet_threshold_b": 64,
    }


def tag_body(img_str: str) -> dict:  # edge.py
    return {"image": img_str, "model": "wd-v1-4-moat-tagger.v2", "threshold": 0.35, "queue": "", "name_in_queue": ""}


def generate_body(*, img_str, mask_str, edge_str, reference_str, width, height, use_edge=True, use_reference=False) -> dict:
    """generate.py's ``data`` and ControlNet units, with the values its front end sends."""
    sampler, steps, seed = "DPM++ 2M Karras", 4, 1234
    width, height = limit_size(width, height)
    data = {
        "init_images": [img_str],
        "resize_mode": 0,
        "denoising_strength": 0.75,
        "image_cfg_scale": 0,
        "mask": mask_str,
        "mask_blur": 4,
        "inpainting_fill": 1,
        "inpaint_full_res": 0,  # inpaint area
        "inpaint_full_res_padding": 32,  # no effect when inpaint_full_res = 0
        "inpainting_mask_invert": 0,
        "initial_noise_multiplier": 1.0,
        "prompt": "masterpiece, best quality",
        "negative_prompt": "worst quality",
        "styles": [],
        "seed": seed,
        "subseed": -1,
        "subseed_strength": 0,
        "seed_resize_from_h": 0,
        "seed_resize_from_w": 0,
        "sampler_name": sampler,
        "batch_size": 1,
        "n_iter": 1,
        "steps": steps,
        "cfg_scale": 7,
        "width": width,
        "height": height,
        "restore_faces": False,
        "tiling": False,
        "do_not_save_samples": False,
        "do_not_save_grid": False,
        "eta": None,  # 0,
        "s_min_uncond": 0,
        "s_churn": 0,
        "s_tmax": 0,
        "s_tmin": 0,
        "s_noise": 1,
        "override_settings": {},
        "override_settings_restore_afterwards": True,
        "script_args": [],
        "sampler_index": sampler,
        "include_init_images": False,
        "script_name": "",
        "send_images": True,
        "save_images": False,
        "alwayson_scripts": {},
    }
    cn_unit_edge = {
        "input_image": edge_str,
        "module": "lineart",
        "model": "control_v11p_sd15_lineart [43d4be0d]",
        "weight": 1.0,
        "resize_mode": "Scale to Fit (Inner Fit)",
        "lowvram": False,
        "processor_res": SHORTEST_TARGET,
        "threshold_a": 0.0,
        "threshold_b": 255.0,
        "guidance": 1.0,
        "guidance_start": 0.0,
        "guidance_end": 1.0,
        "control_mode": 0,
    }
    cn_unit_reference = {
        "input_image": reference_str,
        "module": "reference_only",
        "weight": 1.0,
        "resize_mode": "Scale to Fit (Inner Fit)",
        "lowvram": False,
        "processor_res": SHORTEST_TARGET,
        "threshold_a": 0.0,
        "threshold_b": 255.0,
        "guidance": 1.0,
        "guidance_start": 0.0,
        "guidance_end": 1.0,
        "control_mode": 2,
    }
    data["alwayson_scripts"] = {
        "ControlNet": {
            "args": [
                cn_unit_edge if use_edge else {"enabled": False},
                cn_unit_reference if use_reference else {"enabled": False},
                {"enabled": False},
                {"enabled": False},
            ]
        }
    }
    return data


@pytest.fixture
def app_server(retouch_settings, retouch_models, eager_celery, settings, monkeypatch):
    """Our server set up as the app's A1111 was: no credentials from its address, maps as drawn."""
    from config.celery import app

    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    settings.GARDEN_A1111_CONTROL_PASSTHROUGH = True
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    retouch_settings.GARDEN_RETOUCH_IP_ADAPTER = str(retouch_models["ip_adapter"])
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = str(retouch_models["tagger"])
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing answers there

    def no_broker(*args, **kwargs):
        raise AssertionError("asked the broker")

    monkeypatch.setattr(app.control, "inspect", no_broker)
    painted = []
    paint = RetouchEngine.paint

    def spy(self, request, **kwargs):  # what the engine receives: the ControlNet's own input
        painted.append(request)
        return paint(self, request, **kwargs)

    monkeypatch.setattr(RetouchEngine, "paint", spy)
    return painted


def edited(edge_map: Image.Image) -> Image.Image:
    """What a user does in the app: draw a line, rub part of the detected lines out."""
    picture = edge_map.convert("L")
    draw = ImageDraw.Draw(picture)
    draw.line((10, 10, picture.width - 20, picture.height - 30), fill=255, width=3)
    draw.rectangle((0, picture.height // 2, picture.width // 3, picture.height), fill=0)
    return picture


def app_mask(size) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, (size[0] // 3, size[1] // 4, 2 * size[0] // 3, 3 * size[1] // 4))
    return mask


def test_the_apps_calls_edge_then_generate_keep_the_edited_lines(app_server, settings):
    # The result is 768x512: the invisible watermark (docs/provenance.md) would change pixels
    # outside the mask too; the byte-identical composite is what this test checks.
    settings.GARDEN_PROVENANCE_WATERMARK = False
    client = APIClient()  # the app sends no credentials
    original = noise(96, 64, seed=21)
    img_str = data_url(original)

    record_presence(name="gpu@app", queues=[settings.GARDEN_GPU_QUEUE])
    started = time.perf_counter()
    probe = client.get("/sdapi/v1/options")  # app_server_status.py: urlopen(Request(url), timeout=2)
    assert probe.status_code == 200 and time.perf_counter() - started < 2.0

    detected = client.post("/controlnet/detect-only", edge_body(img_str), format="json")
    assert detected.status_code == 200, detected.content
    edge_map = decoded(detected.json()["images"][0])
    assert edge_map.size == (768, 512)  # processor_res 512: the shortest side
    tags = client.post("/tagger/v1/interrogate", tag_body(img_str), format="json")
    assert tags.status_code == 200 and "tag" in tags.json()["caption"]

    drawn = edited(edge_map)
    body = generate_body(
        img_str=img_str, mask_str=data_url(app_mask(original.size)), edge_str=data_url(drawn), reference_str=img_str, width=96, height=64
    )
    response = client.post("/sdapi/v1/img2img", body, format="json")
    assert response.status_code == 200, response.content
    result = decoded(response.json()["images"][0])
    assert result.size == limit_size(96, 64) == (768, 512)  # A1111's width x height

    [request] = app_server
    [control] = request.controls
    assert control.kind == "lineart" and control.image.size == request.init.size == (768, 512)
    assert np.array_equal(np.asarray(control.image), np.asarray(drawn.convert("RGB")))  # as drawn: not detected again

    job = GenerationJob.objects.get(pk=json.loads(response.json()["info"])["job_id"])
    assert job.created_by.username == "a1111-trusted"
    source = np.asarray(resize_image(0, original, 768, 512))
    mask = imaging.mask_array(Image.open(io.BytesIO(read_upload(job.retouch_job.uploads["mask"]))), (768, 512))
    outside = outside_feather(job.retouch_job.options, mask)
    assert (np.asarray(result.convert("RGB"))[outside] == source[outside]).all()  # untouched outside the mask


def test_an_edge_map_a_pixel_off_the_answer_size_is_scaled_once(app_server):
    """A 150x112 photo: the app asks for 685x512, the detector answered 686x512. The map is scaled
    once, straight to the working size (688x512), never detected again; reference unit on as well."""
    client = APIClient()
    original = noise(150, 112, seed=5)
    img_str = data_url(original)
    edge_map = decoded(client.post("/controlnet/detect-only", edge_body(img_str), format="json").json()["images"][0])
    assert edge_map.size == (686, 512)
    drawn = edited(edge_map)
    body = generate_body(
        img_str=img_str,
        mask_str=data_url(app_mask(original.size)),
        edge_str=data_url(drawn),
        reference_str=img_str,
        width=150,
        height=112,
        use_reference=True,
    )
    response = client.post("/sdapi/v1/img2img", body, format="json")
    assert response.status_code == 200, response.content
    assert decoded(response.json()["images"][0]).size == (685, 512)
    [request] = app_server
    assert request.reference is not None
    expected = drawn.convert("RGB").resize(request.init.size, Image.Resampling.LANCZOS, box=(0, 0, 686, 512))
    assert request.init.size == (688, 512) and np.array_equal(np.asarray(request.controls[0].image), np.asarray(expected))


def test_without_passthrough_the_map_is_detected_again(app_server, settings, no_enqueue):
    """The setting is what keeps the lines: off, A1111's rule (preprocess the unit's picture) applies."""
    settings.GARDEN_A1111_CONTROL_PASSTHROUGH = False
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    client = APIClient()
    original = noise(96, 64, seed=21)
    drawn = edited(decoded(client.post("/controlnet/detect-only", edge_body(data_url(original)), format="json").json()["images"][0]))
    body = generate_body(
        img_str=data_url(original),
        mask_str=data_url(app_mask(original.size)),
        edge_str=data_url(drawn),
        reference_str="",
        width=96,
        height=64,
    )
    response = client.post("/sdapi/v1/img2img", body, format="json")
    job = GenerationJob.objects.get(pk=response.json()["job_id"])
    stored = Image.open(io.BytesIO(read_upload(job.retouch_job.uploads["control-0"])))
    assert not np.array_equal(np.asarray(stored.convert("L")), np.asarray(drawn))
    settings.GARDEN_A1111_CONTROL_PASSTHROUGH = True
    response = client.post("/sdapi/v1/img2img", body, format="json")
    job = GenerationJob.objects.get(pk=response.json()["job_id"])
    stored = Image.open(io.BytesIO(read_upload(job.retouch_job.uploads["control-0"])))
    assert np.array_equal(np.asarray(stored.convert("L")), np.asarray(drawn))
