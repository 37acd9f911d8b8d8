"""A real Celery worker serving only the live queue paints a live picture asked for over HTTP, and
its post stage's process pool (started from the worker's prefork pool process) stores it.

Its own folder (SQLite database, media, var), its own queue name and broker database, as
tests/generation/test_worker.py; the embedded default painter (procedural), so no model is needed.
"""

import json
import time

import pytest

from tests.generation.test_worker import Garden
from tests.local_services import reachable, redis_url

# Its installation brings its own settings (SQLite, the default Redis or a filesystem broker): the
# same whatever the run's, so CI runs it once, in the pass on the embedded defaults.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

ASK = """
import json
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
response = client.post("/live", {"id": "visitor-w", "emotion": "calm/autumn,rainy,sunset"}, content_type="application/json")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""

STATUS = """
import json
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
print(json.dumps(Client().get("/live/%s").json()))
"""


@pytest.fixture
def live_garden(tmp_path):
    url = redis_url()
    broker = url if reachable(url) else "filesystem://"
    garden = Garden(tmp_path, broker, tmp_path, GARDEN_GENERATOR_BACKEND="procedural", GARDEN_WORKER_PRESENCE_SECONDS="0.5",
                    GARDEN_LIVE_SIZE="128")  # fmt: skip
    garden.env.pop("GARDEN_DIFFUSION_MODEL")
    garden.env["GARDEN_LIVE_QUEUE"] = garden.queue  # the worker serves this queue alone
    garden.manage("migrate", "--no-input", "-v", "0")
    garden.start_worker()
    yield garden
    garden.stop_worker()


def shell(garden: Garden, code: str) -> dict:
    return json.loads(garden.manage("shell", "-c", code).stdout.strip().splitlines()[-1])


def test_a_worker_serving_the_live_queue_paints_the_live_picture(live_garden):
    deadline = time.monotonic() + 60
    while True:  # until the worker's presence row says it serves the live queue
        asked = shell(live_garden, ASK)
        if asked["status"] == 202 or time.monotonic() > deadline:
            break
        assert asked["body"]["reason"] == "no_worker", asked
        time.sleep(0.5)
    assert asked["status"] == 202, f"{asked}\n{live_garden.worker_log()}"
    job_id = asked["body"]["job"]
    job = live_garden.wait_for(job_id, lambda row: row["status"] in ("succeeded", "failed", "cancelled"), timeout=120)
    assert job["status"] == "succeeded", f"{job.get('error')}\n{live_garden.worker_log()}"
    assert job["queue"] == live_garden.queue and job["worker"].startswith(live_garden.queue)
    status = shell(live_garden, STATUS % job_id)
    assert status["status"] == "succeeded" and status["image"]["key"].startswith("imgPool/calm/autumn,rainy,sunset/"), status
    # Stored by the post stage's pool: a process the worker's (daemonic) pool process started.
    assert "live post-processing process" in live_garden.worker_log(), live_garden.worker_log()
