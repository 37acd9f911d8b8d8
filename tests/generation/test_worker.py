"""A real Celery worker process consuming generation jobs (not eager mode).

Each scenario runs in its own folder: a SQLite database migrated by `manage.py migrate`, media,
and a queue name of its own, so it never touches the developer's data nor another test's queue.
Jobs are submitted and cancelled with `manage.py generate`, as an operator would.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from testkit.local_services import reachable, redis_url

ROOT = Path(__file__).resolve().parents[2]
# Its installation brings its own settings (SQLite, the default Redis or a filesystem broker): the
# same whatever the run's, so CI runs it once, in the pass on the embedded defaults.
pytestmark = [pytest.mark.slow, pytest.mark.backend_free]


class Garden:
    """One isolated installation: settings by environment, a worker, and manage.py calls."""

    def __init__(self, folder: Path, broker_url: str, model_dir: Path, **extra):
        self.folder = folder
        self.queue = f"gpu-test-{uuid.uuid4().hex[:8]}"
        self.db = folder / "garden.sqlite3"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "GARDEN_VAR_DIR": str(folder / "var"),
            "GARDEN_MEDIA_ROOT": str(folder / "media"),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": str(model_dir),
            "GARDEN_DIFFUSION_DEVICE": "cpu",
            "GARDEN_DEFAULT_STEPS": "2",
            "GARDEN_GPU_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        self.worker = None
        self.log = folder / "worker.log"

    def manage(self, *args, timeout=180, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{self.worker_log()}")
        return result

    def start_worker(self, *, pool: str = "prefork") -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queue, "-c", "1", "-P", pool,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{self.queue}@%h", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop_worker(self) -> None:
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()

    def worker_log(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""

    def job(self, job_id: str) -> dict:
        with sqlite3.connect(self.db, timeout=20) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM generation_generationjob WHERE id = ?", (job_id.replace("-", ""),)).fetchone()
        return dict(row)

    def wait_for(self, job_id: str, predicate, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if predicate(job):
                return job
            time.sleep(0.2)
        raise AssertionError(f"timed out; job is {self.job(job_id)}\n{self.worker_log()}")

    def submit(self, *args) -> str:
        output = self.manage("generate", "--no-wait", *args).stdout
        return output.split()[1].rstrip(":")


@pytest.fixture
def garden_factory(tmp_path, tiny_model_dir):
    gardens = []

    def make(broker_url: str, **extra) -> Garden:
        garden = Garden(tmp_path / f"g{len(gardens)}", broker_url, tiny_model_dir, **extra)
        garden.folder.mkdir()
        garden.manage("migrate", "--no-input", "-v", "0")
        garden.start_worker()
        gardens.append(garden)
        return garden

    yield make
    for garden in gardens:
        garden.stop_worker()


def _check_bulk_run(garden: Garden) -> None:
    result = garden.manage("generate", "--emotion", "calm/spring,cloudy,day", "--bulk", "--count", "2", "--width", "96", "--height", "64",
                           "--seed", "11", "--timeout", "150", "-v", "0")  # fmt: skip
    keys = [line for line in result.stdout.splitlines() if line.startswith("imgPool/")]
    assert [key.rsplit("_", 1)[1] for key in keys] == ["0h.jpeg", "0v.jpeg", "1h.jpeg", "1v.jpeg"], result.stdout
    for key in keys:
        assert (garden.folder / "media" / key).stat().st_size > 0
    # The worker made their thumbnails right after storing them (review pages never wait).
    assert len(list((garden.folder / "media" / "thumbs").glob("*.webp"))) == len(keys)
    assert "succeeded" in result.stdout


def test_a_real_worker_on_redis_runs_cancels_and_recovers_jobs(garden_factory):
    url = redis_url()
    if not reachable(url):
        pytest.skip(f"Redis is not reachable at {url} (set CELERY_BROKER_URL=redis://host:6379/0; CI provides it)")
    # A lease long enough that the worker's periodic sweep (every 30 s) cannot take a job first on a
    # busy machine: with 4 s, a slow step or a late look at the dead pool process let the sweep
    # resume the killed job before the main process did (CI, 2026-11-23), and the notice below said
    # "no heartbeat" instead of naming the lost worker.
    garden = garden_factory(url, GARDEN_JOB_LEASE_SECONDS="15")

    _check_bulk_run(garden)

    # Cancel while running: it stops at its next step, with no further images.
    job_id = garden.submit("--emotion", "sad", "--count", "6", "--width", "256", "--height", "256", "--steps", "40")
    garden.wait_for(job_id, lambda job: job["status"] == "running" and job["steps_done"] > 0)
    garden.manage("generate", "--cancel", job_id)
    job = garden.wait_for(job_id, lambda job: job["status"] == "cancelled", timeout=60)
    assert job["steps_done"] < job["steps_total"] and job["images_done"] < 6

    # Cancel before it starts: a queued job never runs. The blocker holds the only worker slot
    # until it is cancelled too, so the order does not depend on how fast this machine is.
    blocker = garden.submit("--emotion", "sad", "--count", "6", "--width", "256", "--height", "256", "--steps", "150")
    garden.wait_for(blocker, lambda job: job["status"] == "running")
    queued = garden.submit("--emotion", "happy", "--width", "64", "--height", "64")
    garden.manage("generate", "--cancel", queued)
    garden.manage("generate", "--cancel", blocker)
    garden.wait_for(blocker, lambda job: job["status"] == "cancelled", timeout=60)
    time.sleep(2.0)  # the worker now takes the queued job's message and must drop it
    assert garden.job(queued)["status"] == "cancelled" and garden.job(queued)["attempts"] == 0

    # A worker process killed mid-job: the worker's main process requeues the job at once (it sees the
    # WorkerLostError), the message comes back (acks_late, reject_on_worker_lost) and the job finishes
    # on a second attempt instead of staying "running". (The new pool process loads the model again:
    # slow on a busy machine, hence the generous timeout.)
    job_id = garden.submit("--emotion", "fear", "--count", "2", "--width", "128", "--height", "128", "--steps", "30")
    garden.wait_for(job_id, lambda job: job["status"] == "running" and job["steps_done"] > 0)
    children = Path(f"/proc/{garden.worker.pid}/task/{garden.worker.pid}/children").read_text().split()
    assert children, "the prefork pool has no child process"
    os.kill(int(children[0]), signal.SIGKILL)
    job = garden.wait_for(job_id, lambda job: job["status"] in ("succeeded", "failed"), timeout=300)
    assert (job["status"], job["attempts"]) == ("succeeded", 2), job
    assert job["notice"] == "Worker lost (Worker exited prematurely: signal 9 (SIGKILL)); resumed (attempt 2 of 3).", job


def test_a_real_worker_on_the_embedded_filesystem_broker(garden_factory):
    garden = garden_factory("filesystem://")
    _check_bulk_run(garden)
