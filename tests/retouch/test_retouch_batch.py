"""Batch retouching of frames (retouch_batch): order, names, masks by name, fixed seed and
rectangle, ranges, resuming, the archive, and refused archives."""

import io
import json
import zipfile

import numpy as np
import pytest

from generation import services
from generation.models import GenerationJob
from generation.worker import runner
from tests.retouch.retouch_support import box_mask, encoded, mask_png, noise, outside_feather, stored_pixels, upload, zip_of

pytestmark = pytest.mark.django_db

NAMES = ["shot_10.png", "shot_2.png", "shot_1.jpg"]  # numeric order: 1, 2, 10


def frames_zip() -> tuple[bytes, dict[str, np.ndarray]]:
    pictures = {name: noise(seed=number) for number, name in enumerate(NAMES)}
    entries = {
        f"clip/{name}": encoded(picture, "PNG" if name.endswith(".png") else "JPEG", quality=95) for name, picture in pictures.items()
    }
    decoded = {}
    for path, content in entries.items():
        from PIL import Image

        decoded[path.split("/")[-1]] = np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))
    return zip_of(entries), decoded


def post(client, **fields):
    body = {"kind": "retouch_batch", "work_size": 64, "seed": 3, "padding": 8, **fields}
    for name, value in list(body.items()):
        if isinstance(value, bytes):
            body[name] = upload(value, f"{name}.zip")
    return client.post("/api/v1/jobs", body, format="multipart")


def archive_names(client, job_id) -> list[str]:
    response = client.get(f"/api/v1/jobs/{job_id}/archive")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert archive.testzip() is None
        return archive.namelist()


def test_frames_are_repainted_in_numeric_order_under_their_names(staff_client, retouch_settings, no_enqueue):
    content, decoded = frames_zip()
    masks = zip_of({"shot_1.png": mask_png(), "shot_2.png": mask_png(box=None), "shot_10.png": mask_png()})
    response = post(staff_client, frames=content, masks=masks)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["retouch"]["frames"] == [[1, "shot_1.jpg"], [2, "shot_2.png"], [3, "shot_10.png"]]
    assert (body["images_total"], body["steps_total"]) == (3, 6)
    job = runner.execute_job(job_id=body["id"])
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert archive_names(staff_client, job.pk) == ["shot_1.png", "shot_2.png", "shot_10.png"]
    results = {image.parameters["frame"]: image for image in job.images.all()}
    assert {image.seed for image in results.values()} == {3}  # one seed for every frame: no flicker
    assert {tuple(image.parameters["rect"]) for image in results.values()} == {(20, 0, 60, 60)}  # one rectangle too
    for name, image in results.items():
        result, original = stored_pixels(image.key), decoded[name]
        if name == "shot_2.png":  # an empty mask: the frame passes through untouched
            assert (result == original).all()
            continue
        outside = outside_feather(job.retouch_job.options, box_mask())
        assert (result[outside] == original[outside]).all() and not (result == original).all()


def test_one_mask_for_all_a_range_and_varying_seeds(staff_client, retouch_settings, no_enqueue):
    content, _ = frames_zip()
    body = post(staff_client, frames=content, mask=mask_png(), range="2,3", vary_seed="true").json()
    assert body["retouch"]["frames"] == [[2, "shot_2.png"], [3, "shot_10.png"]]
    job = runner.execute_job(job_id=body["id"])
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert sorted(image.seed for image in job.images.all()) == [4, 5]  # seed + position - 1
    assert archive_names(staff_client, job.pk) == ["shot_2.png", "shot_10.png"]


def test_a_batch_resumes_where_it_stopped(staff_client, retouch_settings, no_enqueue, monkeypatch):
    from retouch import engine

    content, _ = frames_zip()
    job_id = post(staff_client, frames=content, mask=mask_png()).json()["id"]
    painted = []
    paint = engine.RetouchEngine.paint

    def stop_on_the_second_frame(self, request, *, on_step=None):
        painted.append(request)
        if len(painted) == 2:
            raise RuntimeError("the GPU fell off the bus")
        return paint(self, request, on_step=on_step)

    monkeypatch.setattr(engine.RetouchEngine, "paint", stop_on_the_second_frame)
    job = runner.execute_job(job_id=job_id)
    assert job.status == GenerationJob.Status.FAILED and job.images.count() == 1
    first = job.images.get()
    services.retry_job(job=job)
    job = runner.execute_job(job_id=job_id)
    assert job.status == GenerationJob.Status.SUCCEEDED and job.images.count() == 3 and first in job.images.all()
    assert len(painted) == 4  # frames 1, 2 (failed), then 2 and 3: frame 1 was not painted again


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"frames": zip_of({"../escape.png": encoded(noise())})}, 400, "leaves the archive"),
        ({"frames": b"not a zip"}, 400, "not a zip"),
        ({"frames": zip_of({"1.png": encoded(noise()), "2.png": encoded(noise(48, 32))})}, 400, "the first is 96x64"),
        ({"frames": zip_of({"1.png": b"\0" * 3_000_000})}, 413, "expands suspiciously"),
        ({"frames": zip_of({"1.png": encoded(noise())[:200]})}, 400, "truncated"),
        ({"frames": zip_of({"1.png": encoded(noise())}), "masks": zip_of({"2.png": mask_png()})}, 400, "No mask for the frame"),
        ({"frames": zip_of({"1.png": encoded(noise())}), "masks": zip_of({"1.png": mask_png(box=None)})}, 400, "Every mask is empty"),
        ({"frames": zip_of({"1.png": encoded(noise())}), "range": "2,3"}, 400, "range"),
        ({"frames": zip_of({"1.png": encoded(noise())}), "count": 2}, 400, "count"),
        ({}, 400, "frames"),
    ],
)
def test_bad_archives_are_refused_and_nothing_is_stored(staff_client, retouch_settings, no_enqueue, fields, status, field):
    response = post(staff_client, **fields)
    assert response.status_code == status, response.content
    assert field in json.dumps(response.json()) and not GenerationJob.objects.exists()


def test_more_frames_than_the_setting_is_a_413(staff_client, retouch_settings, no_enqueue, settings):
    settings.GARDEN_RETOUCH_MAX_FRAMES = 2
    response = post(staff_client, frames=zip_of({f"{n}.png": encoded(noise(16, 16)) for n in range(3)}))
    assert response.status_code == 413 and "GARDEN_RETOUCH_MAX_FRAMES" in json.dumps(response.json())
