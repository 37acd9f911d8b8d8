"""Retouch jobs end to end on the tiny models: submit through the API, run the worker's service,
read the stored result back and compare its decoded pixels with the source's."""

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generation import services
from generation.imagefile import read_parameters
from generation.models import GenerationJob
from generation.worker import runner as worker_runner
from tests.retouch.retouch_support import (
    HEIGHT,
    WIDTH,
    box_mask,
    encoded,
    garden_image,
    mask_png,
    noise,
    outside_feather,
    stored_pixels,
    upload,
)

pytestmark = pytest.mark.django_db


def submit(client, **fields):
    body = {"kind": "retouch", "work_size": 64, "seed": 7, "padding": 8, **fields}
    for name in ("image", "mask", "reference_image", "frames", "masks", "control_0"):
        if isinstance(body.get(name), bytes):
            body[name] = upload(body[name], f"{name}.bin")
    response = client.post("/api/v1/jobs", body, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()


def run(body) -> GenerationJob:
    job = worker_runner.execute_job(job_id=body["id"], worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return job


def test_outside_the_feathered_mask_every_pixel_is_the_sources(staff_client, retouch_settings, no_enqueue):
    source = noise()
    body = submit(staff_client, image=encoded(source), mask=mask_png(), prompt="a red flower", strength=0.75)
    assert (body["steps_total"], body["images_total"]) == (3, 1)  # int(4 steps x 0.75)
    assert body["retouch"]["rect"] == [20, 0, 60, 60] and "uploads" not in body["retouch"]
    job = run(body)
    image = job.images.get()
    assert image.key.startswith("imgPool/calm/") and image.key.endswith("_0h.png")
    assert (job.steps_done, job.steps_total, job.progress) == (3, 3, 1.0)
    result = stored_pixels(image.key)
    original = np.asarray(source)
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert result.shape == original.shape and outside.sum() > 3000
    assert (result[outside] == original[outside]).all()
    inside = box_mask((44, 24, 56, 36))
    assert np.abs(result[inside].astype(int) - original[inside]).mean() > 10
    # Every parameter in the file's EXIF and on the row.
    with default_storage.open(image.key, "rb") as handle:
        embedded = read_parameters(handle.read())
    assert embedded == image.parameters
    assert (embedded["strength"], embedded["steps_run"], embedded["rect"], embedded["seed"]) == (0.75, 3, [20, 0, 60, 60], 7)
    assert (image.prompt, image.seed, image.steps, image.source) == ("a red flower", 7, 4, None)


def test_a_garden_image_source_is_linked_and_its_decoded_pixels_kept(staff_client, retouch_settings, no_enqueue):
    source = garden_image()
    body = submit(staff_client, image_id=source.pk, mask=mask_png(), mask_blur=2)
    job = run(body)
    result = job.images.get()
    assert result.source == source and list(source.retouches.all()) == [result]
    assert result.key.startswith("imgPool/happy/spring,sunny,day/") and (result.emotion, result.favorite) == ("happy", "spring,sunny,day")
    original = stored_pixels(source.key)  # the JPEG, decoded
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert (stored_pixels(result.key)[outside] == original[outside]).all()
    assert result.parameters["source"] == source.key


def test_opacity_zero_gives_back_the_source_and_seeds_are_reproducible(staff_client, retouch_settings, no_enqueue):
    source = encoded(noise())
    untouched = run(submit(staff_client, image=source, mask=mask_png(), opacity=0))
    assert (stored_pixels(untouched.images.get().key) == np.asarray(noise())).all()

    twice = run(submit(staff_client, image=source, mask=mask_png(), count=2, seed=100))
    first, second = (stored_pixels(image.key) for image in sorted(twice.images.all(), key=lambda image: image.seed))
    repeated = run(submit(staff_client, image=source, mask=mask_png(), count=2, seed=100))
    assert [stored_pixels(image.key).tobytes() for image in sorted(repeated.images.all(), key=lambda image: image.seed)] == [
        first.tobytes(),
        second.tobytes(),
    ]
    alone = stored_pixels(run(submit(staff_client, image=source, mask=mask_png(), seed=101)).images.get().key)
    # Image n uses seed + n in any batch; CPU kernels round differently by batch size (±1 level at most).
    assert np.abs(alone.astype(int) - second).max() <= 1
    assert not (first == second).all()


def test_a_nine_channel_inpainting_model_is_used_when_configured(staff_client, retouch_settings, retouch_models, no_enqueue):
    retouch_settings.GARDEN_RETOUCH_INPAINT_MODEL = str(retouch_models["inpaint"])
    source = noise(seed=3)
    job = run(submit(staff_client, image=encoded(source), mask=mask_png(), strength=1.0))
    assert job.model_id == str(retouch_models["inpaint"]) and job.steps_total == 4
    result = stored_pixels(job.images.get().key)
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert (result[outside] == np.asarray(source)[outside]).all()


def test_lineart_control_edited_edges_and_a_reference(staff_client, retouch_settings, retouch_models, no_enqueue):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    retouch_settings.GARDEN_RETOUCH_IP_ADAPTER = str(retouch_models["ip_adapter"])
    source = noise(seed=4)
    edges = encoded(noise(seed=5).convert("L"))
    body = submit(
        staff_client,
        image=encoded(source),
        mask=mask_png(),
        controls='[{"type": "lineart", "scale": 0.8, "start": 0.1, "end": 0.9, "mode": 2}, {"type": "lineart", "mode": 1}]',
        control_0=edges,
        reference='{"scale": 0.5}',
    )
    controls = body["retouch"]["controls"]
    assert [(c["scale"], c["has_image"], c["mode"]) for c in controls] == [(0.8, True, 2), (1.0, False, 1)]
    job = run(body)
    image = job.images.get()
    assert image.parameters["controls"][0]["edited"] is True and image.parameters["reference"]["scale"] == 0.5
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert (stored_pixels(image.key)[outside] == np.asarray(source)[outside]).all()
    # The IP-Adapter was detached again: the shared UNet still paints text-to-image jobs.
    garden = services.create_job(request=services.JobRequest(prompt="garden", width=64, height=64, backend="diffusers"), enqueue=False)
    assert worker_runner.execute_job(job_id=garden.pk).status == GenerationJob.Status.SUCCEEDED


def test_a_controlnet_of_another_model_family_fails_the_job_with_the_setting(staff_client, retouch_settings, retouch_models, no_enqueue):
    retouch_settings.GARDEN_RETOUCH_CANNY_CONTROLNET = str(retouch_models["other_family"])
    body = submit(staff_client, image=encoded(noise()), mask=mask_png(), controls='[{"type": "canny"}]')
    job = worker_runner.execute_job(job_id=body["id"])
    assert job.status == GenerationJob.Status.FAILED
    assert "GARDEN_RETOUCH_CANNY_CONTROLNET" in job.error and "cross-attention width 48" in job.error and not job.images.exists()


@pytest.mark.parametrize(("content", "steps_total"), [("fill", 2), ("noise", 4), ("nothing", 2)])
def test_masked_content_and_noise_multiplier(staff_client, retouch_settings, no_enqueue, content, steps_total):
    source = noise(seed=8)
    body = submit(
        staff_client, image=encoded(source), mask=mask_png(), masked_content=content, noise_multiplier=0.5, sampler="dpm++_karras"
    )
    assert body["steps_total"] == steps_total
    job = run(body)
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert (stored_pixels(job.images.get().key)[outside] == np.asarray(source)[outside]).all()
    assert job.images.get().parameters["sampler"] == "dpm++_karras"


def test_a_transparent_source_keeps_its_alpha(staff_client, retouch_settings, no_enqueue):
    rgba = noise(seed=9).convert("RGBA")
    alpha = np.random.default_rng(2).integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
    rgba.putalpha(Image.fromarray(alpha, "L"))
    job = run(submit(staff_client, image=encoded(rgba), mask=mask_png()))
    result = stored_pixels(job.images.get().key)
    assert result.shape == (HEIGHT, WIDTH, 4) and (result[..., 3] == alpha).all()
    outside = outside_feather(job.retouch_job.options, box_mask())
    assert (result[outside] == np.asarray(rgba)[outside]).all()


def test_without_a_mask_the_rectangle_is_repainted(staff_client, retouch_settings, no_enqueue):
    source = noise(seed=10)
    job = run(submit(staff_client, image=encoded(source), rect="16,8,32,32", mask_blur=0))
    result, original = stored_pixels(job.images.get().key), np.asarray(source)
    outside = np.ones((HEIGHT, WIDTH), bool)
    outside[8:40, 16:48] = False
    assert (result[outside] == original[outside]).all() and not (result[~outside] == original[~outside]).all()


def test_a_cancelled_retouch_can_be_retried_and_keeps_what_it_made(staff_client, retouch_settings, no_enqueue, monkeypatch):
    from retouch import engine

    retouch_settings.GARDEN_DIFFUSION_BATCH_SIZE = 1
    body = submit(staff_client, image=encoded(noise()), mask=mask_png(), count=3, seed=20)
    calls = []
    paint = engine.RetouchEngine.paint

    def cancel_on_second_call(self, request, *, on_step=None):
        calls.append(request.seeds)
        if len(calls) == 2:
            GenerationJob.objects.filter(pk=body["id"]).update(cancel_requested=True)
        return paint(self, request, on_step=on_step)

    monkeypatch.setattr(engine.RetouchEngine, "paint", cancel_on_second_call)
    job = worker_runner.execute_job(job_id=body["id"])
    assert job.status == GenerationJob.Status.CANCELLED and job.images.count() == 1
    kept = job.images.get()
    services.retry_job(job=job)
    job = run(body)
    assert job.images.count() == 3 and kept in job.images.all()
    assert calls == [[20], [21], [21], [22]]  # the stored image 0 was not painted again


def test_promoting_a_retouched_png_serves_it_as_jpeg_with_its_parameters(
    staff_client, retouch_settings, no_enqueue, django_capture_on_commit_callbacks
):
    from garden.services import promote_image

    job = run(submit(staff_client, image=encoded(noise()), mask=mask_png()))
    pool = job.images.get()
    with django_capture_on_commit_callbacks(execute=True):
        served = promote_image(image=pool)
    assert served.key.startswith("emotions/calm/") and served.key.endswith("_0h.jpeg") and served.orientation == "h"
    with default_storage.open(served.key, "rb") as handle:
        content = handle.read()
    assert content[:3] == b"\xff\xd8\xff" and read_parameters(content) == pool.parameters
    assert served.byte_size == len(content) and served.content_hash != pool.content_hash
    assert not default_storage.exists(pool.key)


def test_the_admin_image_page_has_a_retouch_button_and_the_page_opens_with_it(client, django_user_model, retouch_settings):
    source = garden_image()
    admin = django_user_model.objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(admin)
    page = client.get(f"/admin/garden/image/{source.pk}/change/").content.decode()
    assert f'href="/kiosk/retouch/?image={source.pk}"' in page
    retouch = client.get(f"/kiosk/retouch/?image={source.pk}")
    assert retouch.status_code == 200
    config = retouch.context["config"]
    assert config["image"]["id"] == source.pk and config["image"]["url"].endswith(source.key)
    assert config["features"]["inpaint"]["available"] and 'id="retouch-config"' in retouch.content.decode()
    assert "<script>" not in retouch.content.decode().replace('<script id="retouch-config" type="application/json">', "")


def test_the_page_is_for_staff(client, django_user_model):
    assert client.get("/kiosk/retouch/")["Location"].startswith("/admin/login/")
    client.force_login(django_user_model.objects.create_user("visitor"))
    assert client.get("/kiosk/retouch").status_code == 403


@pytest.fixture
def signing(settings, tmp_path):
    from provenance.certs import make_test_chain

    chain, key = make_test_chain()
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = str(tmp_path / "chain.pem"), str(tmp_path / "key.pem")


@pytest.mark.parametrize("from_garden", [True, False])
def test_a_signed_retouch_names_its_source_as_the_parent_ingredient(staff_client, retouch_settings, no_enqueue, signing, from_garden):
    from provenance import c2pa

    source = {"image_id": garden_image().pk} if from_garden else {"image": encoded(noise())}
    job = run(submit(staff_client, mask=mask_png(), **source))
    with default_storage.open(job.images.get().key, "rb") as handle:
        manifest = c2pa.read(handle.read())
    assert (manifest["validation_state"], manifest["ingredients"]) == ("Valid", ["source"])
    assert [action["action"] for action in manifest["actions"]] == ["c2pa.opened", "c2pa.edited"]


def test_storing_an_unsigned_edit_reads_no_source(staff_client, retouch_settings, no_enqueue, monkeypatch):
    from retouch import runner

    source = garden_image()
    reads = []
    monkeypatch.setattr(runner, "read_file", lambda key: reads.append(key) or default_storage.open(key, "rb").read())
    job = run(submit(staff_client, image_id=source.pk, mask=mask_png()))
    assert reads == [source.key]  # the source's pixels, once: no second read for an ingredient
    assert job.images.get().source == source
