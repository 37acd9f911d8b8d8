"""img2img fields beyond the pictures: each honoured (the job says so) or refused with a 400 naming it."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from a1111.models import PromptStyle
from a1111.resize import resize_image
from generation.models import GenerationJob
from retouch.uploads import read_upload
from tests.retouch.retouch_support import encoded, mask_png, noise

pytestmark = pytest.mark.django_db


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def client(settings, retouch_settings, no_enqueue):
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    settings.GARDEN_A1111_WAIT_SECONDS = 0  # nothing runs the jobs: the 504 carries the job's id
    return APIClient()


def body(**extra) -> dict:
    return {"init_images": [b64(encoded(noise()))], "mask": b64(mask_png()), "steps": 4, "width": 64, "height": 64, **extra}


def job_for(client, **extra) -> GenerationJob:
    response = client.post("/sdapi/v1/img2img", body(**extra), format="json")
    assert response.status_code == 504, response.content
    return GenerationJob.objects.get(pk=response.json()["job_id"])


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"mask_blur_x": 2, "mask_blur_y": 8}, "mask_blur_x"),
        ({"override_settings": {"sd_model_checkpoint": "sdxl-base [31e35c80fc]"}}, "override_settings.sd_model_checkpoint"),
        ({"override_settings": {"CLIP_stop_at_last_layers": 13}}, "override_settings.CLIP_stop_at_last_layers"),
        ({"override_settings": {"sd_vae": "kl-f8-anime2.ckpt"}}, "override_settings.sd_vae"),
        ({"override_settings": "not an object"}, "override_settings"),
        ({"subseed": 7, "subseed_strength": 0.3}, "subseed_strength"),
        ({"seed_resize_from_w": 640}, "seed_resize_from_w"),
        ({"s_churn": 0.5}, "s_churn"),
        ({"sampler_name": "DPM++ 2M", "scheduler": "Beta"}, "scheduler"),
        ({"sampler_name": "DPM++ SDE"}, "sampler_name"),
        ({"sampler_name": "Euler a", "scheduler": "Karras"}, "scheduler"),
        ({"scheduler": "Fancy"}, "scheduler"),
        ({"sampler_name": "Euler a", "eta": 0.3}, "eta"),
        ({"styles": ["no such style"]}, "styles"),
        ({"resize_mode": 5, "inpaint_full_res": 0}, "resize_mode"),
        ({"width": 4}, "width"),
    ],
)
def test_fields_we_cannot_honour_are_refused_by_name(client, extra, field):
    response = client.post("/sdapi/v1/img2img", body(**extra), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json() and not GenerationJob.objects.exists()


def test_honoured_fields(client):
    PromptStyle.objects.create(name="film", prompt="analog film photo of {prompt}", negative_prompt="cartoon")
    job = job_for(
        client,
        prompt="a cat",
        negative_prompt="blurry",
        styles=["film"],
        mask_blur_x=6,
        mask_blur_y=6,
        sampler_name="DPM++ 2M",
        scheduler="Karras",
        subseed=99,
        subseed_strength=0,
        eta=None,
        override_settings={"sd_model_checkpoint": "tiny-sd", "CLIP_stop_at_last_layers": 2, "samples_save": False},
    )
    assert (job.prompt, job.negative_prompt) == ("analog film photo of a cat", "blurry, cartoon")
    assert (job.retouch_job.options["mask_blur"], job.retouch_job.options["sampler"], job.retouch_job.options["clip_skip"]) == (
        6,
        "dpm++_karras",
        2,
    )
    assert job_for(client, sampler_name="Euler a", scheduler="Automatic", eta=1.0).retouch_job.options["sampler"] == "euler_a"


@pytest.mark.parametrize("resize_mode", [0, 1, 2, 3])
def test_whole_picture_answers_width_by_height_per_resize_mode(client, resize_mode):
    """inpaint_full_res 0: the source and mask are brought to width x height as A1111 does, so the
    job (and its answer) has that size; only-masked keeps the init size."""
    job = job_for(client, inpaint_full_res=0, resize_mode=resize_mode, width=80, height=72)
    assert (job.width, job.height, job.retouch_job.options["rect"]) == (80, 72, [0, 0, 80, 72])
    stored = Image.open(io.BytesIO(read_upload(job.retouch_job.uploads["source"])))
    assert np.array_equal(np.asarray(stored), np.asarray(resize_image(resize_mode, noise(), 80, 72)))
    only_masked = job_for(client, inpaint_full_res=1, resize_mode=resize_mode, width=80, height=72)
    assert (only_masked.width, only_masked.height) == (96, 64)


def test_resize_image_follows_a1111():
    wide = noise(96, 48)
    # 1 crop and resize: covers 64x64 (128x64), centred, the sides cut off.
    cropped = resize_image(1, wide, 64, 64)
    assert np.array_equal(np.asarray(cropped), np.asarray(wide.resize((128, 64), Image.Resampling.LANCZOS))[:, 32:96])
    # 2 resize and fill: fits inside (64x32), centred; the bands above and below are the edge rows stretched.
    filled = np.asarray(resize_image(2, wide, 64, 64))
    inner = np.asarray(wide.resize((64, 32), Image.Resampling.LANCZOS))
    assert np.array_equal(filled[16:48], inner)
    assert (filled[:16] == filled[0]).all() and (filled[48:] == filled[63]).all()
    assert np.abs(filled[0].astype(int) - inner[0].astype(int)).mean() < 16  # close to the top row, not black


@pytest.mark.django_db(transaction=True)
def test_send_images_false_answers_no_pictures_and_latent_upscale_is_said(retouch_settings, eager_celery, settings):
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    response = APIClient().post("/sdapi/v1/img2img", body(send_images=False, inpaint_full_res=0, resize_mode=3), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    info = json.loads(answer["info"])
    assert answer["images"] == [] and (info["width"], info["height"]) == (64, 64)
    assert "latent" in info["extra_generation_params"]["Resize mode"]
    assert GenerationJob.objects.get(pk=info["job_id"]).images.count() == 1  # kept in the pool all the same


@pytest.mark.django_db(transaction=True)
def test_clip_skip_reaches_the_pipeline_and_changes_the_picture(retouch_settings, eager_celery, settings, monkeypatch):
    from retouch.engine import RetouchEngine

    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    asked = []
    paint = RetouchEngine.paint
    monkeypatch.setattr(RetouchEngine, "paint", lambda self, request, **kw: asked.append(request.clip_skip) or paint(self, request, **kw))
    pictures = []
    for clip_skip in (1, 2):
        sent = body(prompt="a red flower", seed=3, override_settings={"CLIP_stop_at_last_layers": clip_skip})
        response = APIClient().post("/sdapi/v1/img2img", sent, format="json")
        assert response.status_code == 200, response.content
        assert json.loads(response.json()["info"])["clip_skip"] == clip_skip
        pictures.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(response.json()["images"][0])))))
    assert asked == [1, 2] and not np.array_equal(*pictures)


def test_ddim_with_any_eta_is_accepted_and_kept_for_the_painter(client):
    """webuiapi's img2img sends eta 1.0 by default; txt2img paints it, and so does img2img."""
    for eta in (0.5, 1.0):
        options = job_for(client, sampler_name="DDIM", eta=eta).retouch_job.options
        assert (options["sampler"], options["eta"]) == ("ddim", eta)
    assert job_for(client, sampler_name="Euler", eta=0.5).retouch_job.options["eta"] is None  # Euler's step takes none, as in A1111


@pytest.mark.django_db(transaction=True)
def test_img2img_ddim_paints_with_the_eta_asked(retouch_settings, eager_celery, settings, monkeypatch):
    from retouch.engine import RetouchEngine

    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    asked = []
    paint = RetouchEngine.paint
    monkeypatch.setattr(RetouchEngine, "paint", lambda self, request, **kw: asked.append(request.eta) or paint(self, request, **kw))
    pictures = []
    for eta in (0.0, 1.0):
        sent = body(prompt="a red flower", seed=3, steps=4, sampler_name="DDIM", eta=eta)
        response = APIClient().post("/sdapi/v1/img2img", sent, format="json")
        assert response.status_code == 200, response.content
        assert not [warning for warning in json.loads(response.json()["info"])["warnings"] if "eta" in warning]
        pictures.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(response.json()["images"][0])))))
    assert asked == [0.0, 1.0] and not np.array_equal(*pictures)  # eta 1 adds the step's noise: another picture


def test_another_model_is_refused_naming_it_without_a_server_path(client, retouch_settings):
    from a1111.auth import service_user
    from a1111.models import ClientChoice

    retouch_settings.GARDEN_RETOUCH_INPAINT_MODEL = "/srv/models/secret-dir/tiny-inpaint"
    response = client.post("/sdapi/v1/img2img", body(override_settings={"sd_model_checkpoint": "sdxl-base [31e35c80fc]"}), format="json")
    message = response.json()["override_settings.sd_model_checkpoint"][0]
    assert response.status_code == 400 and "sdxl-base" in message and "'tiny-inpaint'" in message and "/srv" not in message
    # The same choice made through POST /options is refused the same way, never silently ignored.
    ClientChoice.objects.create(identity=f"user:{service_user().pk}", model="sdxl-base")  # the trusted address's caller
    response = client.post("/sdapi/v1/img2img", body(), format="json")
    assert (
        response.status_code == 400 and "sdxl-base" in response.json()["sd_model_checkpoint"][0] and "/srv" not in response.content.decode()
    )
    assert not GenerationJob.objects.exists()
