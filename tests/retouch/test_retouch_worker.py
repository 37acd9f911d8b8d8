"""A retouch through a real Celery worker process (Redis broker), and A1111's health probe
(``GET /sdapi/v1/options``) seeing that worker. Uses test_worker's isolated installations."""

import time

import numpy as np
import pytest
from PIL import Image

from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import garden_factory  # noqa: F401 (the fixture)
from tests.retouch.retouch_support import box_mask, encoded, mask_png, noise, outside_feather

# Its installation brings its own settings (SQLite, the default Redis or a filesystem broker): the
# same whatever the run's, so CI runs it once, in the pass on the embedded defaults.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

PROBE = """
from django.contrib.auth.models import User
from django.test import Client
client = Client(HTTP_HOST="localhost")
client.force_login(User.objects.get_or_create(username="probe", defaults={"is_staff": True})[0])
response = client.get("/sdapi/v1/options")
print("STATUS", response.status_code, response.content.decode())
"""

SUBMIT = """
from pathlib import Path
from generation.requests import JobRequest
from retouch.options import RetouchOptions
from retouch.services import RetouchUploads, create_retouch_job
folder = Path({folder!r})
job = create_retouch_job(
    request=JobRequest(kind="retouch", prompt="a red flower", seed=5, steps=4, kind_options=RetouchOptions(work_size=64, strength=0.5)),
    uploads=RetouchUploads(image=(folder / "source.png").read_bytes(), mask=(folder / "mask.png").read_bytes()),
)
print("JOB", job.pk)
"""


def test_a_real_gpu_worker_retouches_and_answers_the_a1111_probe(garden_factory, tmp_path):  # noqa: F811
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (set CELERY_BROKER_URL=redis://host:6379/0; CI provides it)")
    garden = garden_factory(url, GARDEN_RETOUCH_PING_TIMEOUT="1.5")

    deadline = time.monotonic() + 60
    while True:  # the worker needs a few seconds to start answering
        status, _, body = garden.manage("shell", "-c", PROBE).stdout.split("STATUS ", 1)[1].strip().partition(" ")
        if status == "200" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == "200", f"{body}\n{garden.worker_log()}"
    assert garden.queue in body

    (tmp_path / "source.png").write_bytes(encoded(noise(seed=4)))
    (tmp_path / "mask.png").write_bytes(mask_png())
    output = garden.manage("shell", "-c", SUBMIT.format(folder=str(tmp_path))).stdout
    job_id = output.split("JOB", 1)[1].split()[0]
    job = garden.wait_for(job_id, lambda job: job["status"] in ("succeeded", "failed"), timeout=120)
    assert job["status"] == "succeeded", job["error"]
    assert (job["steps_done"], job["steps_total"], job["images_done"]) == (2, 2, 1)
    [result] = list((garden.folder / "media" / "imgPool" / "calm").glob("*.png"))
    pixels = np.asarray(Image.open(result))
    retouch = {"source_size": [96, 64], "rect": [0, 0, 96, 64], "mask_blur": 4}  # the box + 32 + 12 covers the picture
    outside = outside_feather(retouch, box_mask())
    assert (pixels[outside] == np.asarray(noise(seed=4))[outside]).all()
