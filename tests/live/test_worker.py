"""The live worker as the Procfile runs it (``celery worker --pool solo`` on the live queue): it starts
its finishing process and makes the live painter ready before its presence says ready, paints a
live picture asked for over HTTP, and leaves no process behind when it is stopped (SIGTERM) or its
main process is killed (SIGKILL): the finishing process dies with it (generation.worker.finishing_processes).

Its own folder (SQLite database, media, var), its own queue name and broker database, as
tests/generation/test_worker.py; the embedded default painter (procedural), so no model is needed.
"""

import json
import signal
import time

import psutil
import pytest

from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import Garden

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
print(json.dumps(Client().get("/live/%s?wait=10").json()))
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
    garden.start_worker(pool="solo")
    yield garden
    garden.stop_worker()


def shell(garden: Garden, code: str) -> dict:
    return json.loads(garden.manage("shell", "-c", code).stdout.strip().splitlines()[-1])


def processes_of(garden: Garden, *, count: int = 2, timeout: float = 60) -> list[psutil.Process]:
    """The worker's process and its descendants once it has ``count`` of them (its finishing process)."""
    deadline = time.monotonic() + timeout
    while True:
        main = psutil.Process(garden.worker.pid)
        found = [main, *main.children(recursive=True)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def gone(processes: list[psutil.Process], *, timeout: float) -> list[psutil.Process]:
    """Those still alive after ``timeout`` seconds (zombies of the test's own child count as gone)."""
    _gone, alive = psutil.wait_procs(processes[1:], timeout=timeout)
    return [process for process in alive if process.status() != psutil.STATUS_ZOMBIE]


def test_the_live_worker_is_ready_only_once_warm_paints_and_leaves_nothing_after_sigterm(live_garden):
    deadline = time.monotonic() + 90
    while True:  # until the worker's presence row says it serves the live queue, ready
        asked = shell(live_garden, ASK)
        if asked["status"] == 202 or time.monotonic() > deadline:
            break
        assert asked["body"]["reason"] == "no_worker", asked
        time.sleep(0.3)
    assert asked["status"] == 202, f"{asked}\n{live_garden.worker_log()}"
    log = live_garden.worker_log()
    # The finishing process and the painter were ready before the worker took messages.
    assert log.index("finishing process") < log.index("live painter ready") < log.index(" ready."), log
    job_id = asked["body"]["job"]
    job = live_garden.wait_for(job_id, lambda row: row["status"] in ("succeeded", "failed", "cancelled"), timeout=60)
    assert job["status"] == "succeeded", f"{job.get('error')}\n{live_garden.worker_log()}"
    assert job["queue"] == live_garden.queue and job["worker"].startswith(live_garden.queue)
    status = shell(live_garden, STATUS % job_id)
    assert status["status"] == "succeeded" and status["image"]["key"].startswith("imgPool/calm/autumn,rainy,sunset/"), status

    processes = processes_of(live_garden)
    assert len(processes) >= 2, processes  # the worker and its finishing process
    live_garden.worker.send_signal(signal.SIGTERM)
    live_garden.worker.wait(timeout=30)
    assert gone(processes, timeout=10) == []


def test_no_process_of_the_live_worker_outlives_its_killed_main_process(live_garden):
    processes = processes_of(live_garden)
    assert len(processes) >= 2, f"{processes}\n{live_garden.worker_log()}"
    live_garden.worker.send_signal(signal.SIGKILL)
    live_garden.worker.wait(timeout=10)
    assert gone(processes, timeout=10) == []
