"""The web server as the Procfile runs it (gunicorn's gthread worker on config.wsgi with the thread
pool of config/web_threads.py): waiting long polls block nothing. One process of one thread: two
kiosks wait for their pictures, other requests are answered meanwhile, at once (the pool runs a
thread in place of each waiting one), and each poll is answered as soon as its job's change is
announced, or at its bound."""

import http.client
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.servers import ROOT, gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.load]

MAKE_JOBS = """
import json
from django.utils import timezone
from generation.models import WorkerPresence
from live import services
WorkerPresence.objects.create(name="test@live", queues=["live"], seen_at=timezone.now() + timezone.timedelta(hours=1))
print(json.dumps([str(services.request_live_picture(visitor_id=f"v{n}", search_key="calm").pk) for n in range(2)]))
"""
FINISH = """
import sys
from generation import changes
from generation.models import GenerationJob
print("ready", flush=True)  # started before the polls: Django's start-up stays outside their clock
sys.stdin.readline()
GenerationJob.objects.filter(pk=%r).update(status="failed", error="x")
changes.announce_ids([%r])
"""


def get(port: int, path: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), time.monotonic() - started
    finally:
        connection.close()


def test_waiting_long_polls_leave_the_request_thread_to_other_requests(tmp_path):
    settings = {"GARDEN_LIVE_WAIT_SLOTS": "2", "GARDEN_KIOSK_RATE": "100000/minute", "GARDEN_LIVE_RATE": "100000/minute"}
    with gunicorn(tmp_path, workers=1, threads=1, procfile=True, seed=False, compress_static=False, **settings) as server:
        jobs = json.loads(server.manage("shell", "-c", MAKE_JOBS).strip().splitlines()[-1])
        port = int(server.base.rsplit(":", 1)[1])
        announcer = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", FINISH % (jobs[0], jobs[0])],
            cwd=ROOT, env=server.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert announcer.stdout is not None
        for line in announcer.stdout:  # after the shell's own greeting
            if line.strip() == "ready":
                break
        with ThreadPoolExecutor(max_workers=2) as pool:
            polls = [pool.submit(get, port, f"/live/{job}?wait=8") for job in jobs]
            time.sleep(1.0)  # both polls wait, each in a long-poll thread
            meanwhile = [get(port, f"/live/{jobs[0]}") for _ in range(3)]  # the one request thread is free
            announcer.communicate("go\n", timeout=60)
            finished = polls[0].result()
            other = polls[1].result()

    assert all(status == 200 and body["status"] == "queued" and seconds < 1.0 for status, body, seconds in meanwhile), meanwhile
    status, body, seconds = finished
    assert status == 200 and body["status"] == "failed" and seconds < 7.0  # woken by the announcement, not its bound
    status, body, seconds = other
    assert status == 200 and body["status"] == "queued" and seconds >= 7.5  # nothing announced: its bound
