"""The upscale kind through the job API: its validation (each bad field a 400 naming it, nothing
stored) and one job run by the worker's service with lanczos, its picture at the asked size."""

import io
import json

import pytest
from PIL import Image

from generation.models import GenerationJob
from generation.worker import runner
from library.models import LibraryEntry
from tests.retouch.retouch_support import encoded, noise, upload
from tests.retouch.test_retouch_inputs import uploads_stored

pytestmark = pytest.mark.django_db

PNG = encoded(noise())  # the retouch tests' noise picture


def post(client, **fields):
    body = {"kind": "upscale", **{name: value for name, value in fields.items() if value is not None}}
    if isinstance(body.get("image"), bytes):
        body["image"] = upload(body["image"], "photo.png")
    return client.post("/api/v1/jobs", body, format="multipart")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"upscaler": "4x-UltraSharp"}, "upscaler"),  # not in the library
        ({"upscaler": ""}, "upscaler"),
        ({"upscaler": "Lanczos", "scale": 0}, "scale"),
        ({"upscaler": "Lanczos", "scale": 9}, "scale"),  # over MAX_SCALE
        ({"upscaler": "Lanczos", "scale": 2, "width": 100}, "scale"),  # both kinds of size
        ({"upscaler": "Lanczos", "width": 100}, "height"),  # one side only
        ({"upscaler": "Lanczos", "width": 0, "height": 64}, "width"),
        ({"upscaler": "Lanczos", "width": 100000, "height": 64}, "width"),  # over MAX_SCALE times the side
        ({"upscaler": "Nearest", "image": None}, "image"),
    ],
)
def test_a_bad_upscale_request_is_a_400_naming_the_field(staff_client, retouch_settings, no_enqueue, fields, field):
    response = post(staff_client, **{"image": PNG, **fields})
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json()), response.json()
    assert not GenerationJob.objects.exists() and uploads_stored() == []


def test_a_size_over_the_venues_pixels_is_refused(staff_client, retouch_settings, no_enqueue):
    retouch_settings.GARDEN_RETOUCH_MAX_PIXELS = 200 * 200
    response = post(staff_client, image=PNG, upscaler="lanczos", scale=4)
    assert response.status_code == 400 and "GARDEN_RETOUCH_MAX_PIXELS" in response.json()["scale"][0], response.json()


def test_an_upscale_job_runs_on_the_worker_at_the_asked_size(staff_client, retouch_settings, no_enqueue):
    LibraryEntry.objects.filter(kind=LibraryEntry.Kind.UPSCALER).delete()
    source = Image.open(io.BytesIO(PNG))
    response = post(staff_client, image=PNG, upscaler="Lanczos", width=source.width * 2, height=source.height + 10, emotion="happy")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == "upscale" and body["upscale"]["upscaler"] == "lanczos" and body["retouch"] is None
    queued = GenerationJob.objects.get(pk=body["id"])
    assert (queued.queue, queued.background) == (retouch_settings.GARDEN_GPU_QUEUE, False)  # the GPU workers', foreground
    job = runner.execute_job(job_id=body["id"], worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    image = job.images.get()
    assert (image.width, image.height) == (source.width * 2, source.height + 10) and image.key.startswith("imgPool/happy/")
    assert (job.images_done, job.steps_done, job.progress) == (1, 1, 1.0)
