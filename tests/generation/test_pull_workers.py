"""Pulling with real Celery worker processes (generation.dispatch.pull): two prefork workers on Redis, each
a host of its own (GARDEN_HOST_NAME) sharing one SQLite database and one queue. The worker that painted
says the model it holds in its presence; when it stops answering (its whole process group stopped),
the jobs sent next paint on the other, and when it comes back whatever messages it held paint
nothing: every job once."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from testkit.local_services import reachable, redis_url
from tests.generation.test_worker import ROOT, Garden

pytestmark = [pytest.mark.slow, pytest.mark.backend_free]

SUBMIT = """
import json
from generation import services
from generation.requests import JobRequest
ids = [str(services.create_job(request=JobRequest(emotion="calm", count=1, width=64, height=64, steps=2, seed=n)).pk) for n in range({n})]
print(json.dumps(ids))
"""


def start(garden: Garden, host: str) -> subprocess.Popen:
    log = (garden.folder / f"worker-{host}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", garden.queue, "-c", "1", "-P", "prefork",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{host}@%h", "--loglevel", "INFO"],
        cwd=ROOT, env=garden.env | {"GARDEN_HOST_NAME": host}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def rows(garden: Garden, sql: str, *args) -> list[sqlite3.Row]:
    with sqlite3.connect(garden.db, timeout=20) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, args).fetchall()


def wait(predicate, timeout: float, what: str, garden: Garden):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    logs = "\n".join(path.read_text()[-2000:] for path in garden.folder.glob("worker-*.log"))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def jobs(garden: Garden, ids: list[str]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(ids))
    return rows(garden, f"SELECT * FROM generation_generationjob WHERE id IN ({marks})", *[i.replace("-", "") for i in ids])


def submit(garden: Garden, n: int) -> list[str]:
    return json.loads(garden.manage("shell", "-c", SUBMIT.format(n=n)).stdout.strip().splitlines()[-1])


def test_a_silent_workers_jobs_paint_on_the_other_once_each(tmp_path, tiny_model_dir):
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (set CELERY_BROKER_URL=redis://host:6379/0; CI provides it)")
    garden = Garden(tmp_path, url, tiny_model_dir, GARDEN_WORKER_PRESENCE_SECONDS="6")
    garden.manage("migrate", "--no-input", "-v", "0")
    workers = {host: start(garden, host) for host in ("host-a", "host-b")}
    try:
        ready = "SELECT host FROM generation_workerpresence WHERE details LIKE '%ready%'"
        wait(lambda: len(rows(garden, ready)) == 2, 240, "two ready workers", garden)
        first = submit(garden, 1)
        done = wait(lambda: [j for j in jobs(garden, first) if j["status"] == "succeeded"], 240, "the first job", garden)[0]
        warm = done["worker"].split("@")[0]
        other = ({"host-a", "host-b"} - {warm}).pop()
        held = wait(
            lambda: rows(garden, "SELECT models_loaded FROM generation_workerpresence WHERE host = ?", warm), 30, "presence", garden
        )
        assert json.loads(held[0]["models_loaded"])  # the painting process said what it holds

        os.killpg(workers[warm].pid, signal.SIGSTOP)  # the warm host stops answering, its presence still fresh
        stranded = submit(garden, 3)
        finished = wait(
            lambda: (lambda js: js if all(j["status"] == "succeeded" for j in js) else None)(jobs(garden, stranded)),
            240, "the stranded jobs", garden,
        )  # fmt: skip
        assert {j["worker"].split("@")[0] for j in finished} == {other}
        os.killpg(workers[warm].pid, signal.SIGCONT)  # it comes back and reads its left-over messages
        time.sleep(8)
        again = jobs(garden, stranded)
        assert [j["attempts"] for j in again] == [1, 1, 1]  # painted once each
        assert {j["worker"].split("@")[0] for j in again} == {other}
    finally:
        for process in workers.values():
            try:
                os.killpg(process.pid, signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                process.kill()
