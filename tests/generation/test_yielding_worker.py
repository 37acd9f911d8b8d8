"""Foreground before background on a real Celery worker (generation.worker.yielding): a 12-picture
background job is running when a foreground job is sent; the foreground job is painted before the
background job ends, and the background job then completes with its 12 pictures, each painted once."""

import json
from datetime import datetime

import pytest

from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import Garden

pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

# One shell: the background job, then (once two of its pictures are stored) the foreground one.
SEND_MID_WAY = """
import json, time
from generation import services
from generation.models import GenerationJob
from generation.requests import JobRequest
background = services.create_job(request=JobRequest(emotion="calm", count=12, width=128, height=128, steps=6, seed=1), background=True)
deadline = time.monotonic() + 240
while GenerationJob.objects.get(pk=background.pk).images_done < 2 and time.monotonic() < deadline:
    time.sleep(0.1)
foreground = services.create_job(request=JobRequest(emotion="happy", count=1, width=64, height=64, steps=2, seed=99))
print(json.dumps({"background": str(background.pk), "foreground": str(foreground.pk)}))
"""

KEYS = """
import json
from generation.models import GenerationJob
print(json.dumps(list(GenerationJob.objects.get(pk="{pk}").images.values_list("key", flat=True))))
"""


def test_a_foreground_job_sent_mid_way_paints_before_the_background_job_ends(tmp_path, tiny_model_dir):
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (set CELERY_BROKER_URL=redis://host:6379/0; CI provides it)")
    garden = Garden(tmp_path, url, tiny_model_dir, GARDEN_BACKGROUND_CALL_PICTURES="1", GARDEN_DIFFUSION_BATCH_SIZE="4")
    garden.manage("migrate", "--no-input", "-v", "0")
    garden.start_worker()
    try:
        ids = json.loads(garden.manage("shell", "-c", SEND_MID_WAY, timeout=300).stdout.strip().splitlines()[-1])
        foreground = garden.wait_for(ids["foreground"], lambda job: job["status"] == "succeeded", timeout=240)
        background = garden.wait_for(ids["background"], lambda job: job["status"] == "succeeded", timeout=300)
    finally:
        garden.stop_worker()
    assert datetime.fromisoformat(str(foreground["finished_at"])) < datetime.fromisoformat(str(background["finished_at"]))
    assert json.loads(background["timings"])["yields"] >= 1, garden.worker_log()
    assert background["attempts"] == 1 and not background["error"]  # a yield uses no attempt and is no failure
    keys = json.loads(garden.manage("shell", "-c", KEYS.format(pk=ids["background"])).stdout.strip().splitlines()[-1])
    assert len(keys) == len(set(keys)) == 12 and background["images_done"] == 12  # each picture once
