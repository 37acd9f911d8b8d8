"""A1111's synchronous txt2img on the web server as the Procfile runs it (config.web_threads): a
client waiting for its queued job takes no thread from other requests. One process of one request
thread: an SD client's txt2img waits for a job no worker takes, another client's light request is
answered at once meanwhile, and the waiting client's interrupt ends its wait (200 with what was painted, the job cancelled).
With the job's announcements down, a waiting txt2img is still answered, by its reread (a1111.waits)."""

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from a1111 import waits
from testkit.servers import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.load]

# A GPU worker's presence row (seen far ahead): the wait goes on, nothing takes the job.
PRESENT = """
from django.utils import timezone
from generation.models import WorkerPresence
WorkerPresence.objects.create(name="test@gpu", queues=["gpu"], gpu=True, seen_at=timezone.now() + timezone.timedelta(hours=1))
"""


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null"), time.monotonic() - started
    finally:
        connection.close()


def test_a_waiting_txt2img_leaves_the_request_thread_to_other_requests(tmp_path):
    settings = {"GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1"}
    with gunicorn(tmp_path, workers=1, threads=1, procfile=True, seed=False, compress_static=False, **settings) as server:
        server.manage("shell", "-c", PRESENT)
        port = int(server.base.rsplit(":", 1)[1])
        with ThreadPoolExecutor(max_workers=1) as pool:
            request = {"prompt": "a calm garden", "steps": 2, "width": 64, "height": 64}
            waiting = pool.submit(call, port, "POST", "/sdapi/v1/txt2img", request)
            time.sleep(1.5)  # the txt2img waits for its queued job
            meanwhile = [call(port, "GET", "/sdapi/v1/samplers") for _ in range(3)]
            interrupted = call(port, "POST", "/sdapi/v1/interrupt")
            status, body, _ = waiting.result()

    assert all(code == 200 and isinstance(answer, list) and took < 1.0 for code, answer, took in meanwhile), meanwhile
    assert interrupted[0] == 200, interrupted
    info = json.loads(body["info"])
    assert status == 200 and body["images"] == [] and info["warnings"] == ["interrupted: 0 of 1 pictures painted."], (status, body)


# Another process (as a worker) paints the job with every announcement refused, and says when it succeeded.
FINISH_UNANNOUNCED = """
import time
from generation import changes, services
from generation.worker import runner
from generation.models import GenerationJob

def refused(kind, ids):
    raise ConnectionError("the channel is down")

changes._announce = refused
deadline = time.monotonic() + 60
while not GenerationJob.objects.exists() and time.monotonic() < deadline:
    time.sleep(0.1)
job = runner.execute_job(job_id=GenerationJob.objects.get().pk, worker="test@gpu")
assert job.status == "succeeded", job.status
print(time.time())
"""


def test_with_announcements_down_a_waiting_txt2img_is_answered_by_its_reread(tmp_path):
    settings = {"GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1"}
    with gunicorn(tmp_path, workers=1, threads=2, procfile=True, seed=False, compress_static=False, **settings) as server:
        server.manage("shell", "-c", PRESENT)
        port = int(server.base.rsplit(":", 1)[1])
        with ThreadPoolExecutor(max_workers=1) as pool:
            request = {"prompt": "a calm garden", "steps": 1, "width": 64, "height": 64}
            waiting = pool.submit(lambda: (*call(port, "POST", "/sdapi/v1/txt2img", request), time.time()))
            succeeded_at = float(server.manage("shell", "-c", FINISH_UNANNOUNCED).split()[-1])
            status, body, _, answered_at = waiting.result()

    assert status == 200 and len(body["images"]) == 1, (status, body)
    assert answered_at - succeeded_at < waits.REREAD_SECONDS + 1.5, answered_at - succeeded_at
