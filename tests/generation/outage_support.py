"""Real processes for the outage tests: a Redis server of the test's own, Celery workers, an installation.

Each test gets its own ``redis-server`` on a free port (so it can be stopped and started again
without touching the shared one) and its own database (a SQLite file, or a throw-away PostgreSQL
database when DATABASE_URL is PostgreSQL), a copy of the migrated template (config/test_databases.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.servers import free_port, own_database

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence; ``stop()`` and ``start()`` again."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class Installation:
    """Settings by environment, a migrated database of its own, workers and manage.py calls."""

    def __init__(self, folder: Path, database_url: str, broker_url: str, **settings: str):
        self.folder = folder
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "GARDEN_VAR_DIR": str(folder / "var"),
            "GARDEN_MEDIA_ROOT": str(folder / "media"),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_GENERATOR_BACKEND": "procedural",
            "GARDEN_DIFFUSION_BATCH_SIZE": "1",
            "PYTHONUNBUFFERED": "1",
            **settings,
        }
        self.workers: list[subprocess.Popen] = []

    def manage(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{self.logs()}")
        return result.stdout

    def start_worker(self, name: str, **settings: str) -> subprocess.Popen:
        """A prefork worker (one pool process) on the default queue, in a process group of its own.

        ``GARDEN_TEST_PAINT_DELAY`` / ``GARDEN_TEST_LOAD_DELAY`` (seconds) slow its procedural painter
        (``tests.generation.slow_worker``), so a kill lands mid-job.
        """
        log = (self.folder / f"{name}.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.generation.slow_worker", "-Q", "default", "-c", "1", "-P", "prefork",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h", "--loglevel", "INFO"],
            cwd=ROOT, env={**self.env, **settings}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        worker.name = name  # type: ignore[attr-defined]
        self.workers.append(worker)
        return worker

    def pool_children(self, worker: subprocess.Popen) -> list[int]:
        return [int(pid) for pid in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]

    def kill_whole_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool at once: nothing is left to notice the job's loss."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.folder.glob("*.log")))

    def submit(self, *args: str) -> str:
        output = self.manage("generate", "--no-wait", "--backend", "procedural", *args)
        return output.split()[1].rstrip(":")

    # --- reading the job's row directly (the test process has a database of its own) ------------

    def query(self, sql: str, *params) -> list[dict]:
        if self.database_url.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=20)) as connection:
                connection.row_factory = sqlite3.Row
                return [dict(row) for row in connection.execute(sql.replace("%s", "?"), params).fetchall()]
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.database_url, row_factory=dict_row) as connection:
            return list(connection.execute(sql, params).fetchall())

    def _job_id(self, job_id: str) -> str:
        return job_id.replace("-", "") if self.database_url.startswith("sqlite") else job_id

    def job(self, job_id: str) -> dict:
        return self.query("SELECT * FROM generation_generationjob WHERE id = %s", self._job_id(job_id))[0]

    def job_keys(self, job_id: str) -> list[str]:
        rows = self.query(
            "SELECT i.key FROM garden_image i JOIN generation_generationjob_images m ON m.image_id = i.id "
            "WHERE m.generationjob_id = %s ORDER BY i.key",
            self._job_id(job_id),
        )
        return [row["key"] for row in rows]

    def all_keys(self) -> list[str]:
        return sorted(row["key"] for row in self.query("SELECT key FROM garden_image"))

    def media_keys(self) -> list[str]:
        media = self.folder / "media"
        return sorted(
            str(path.relative_to(media)) for path in media.rglob("*.jpeg") if not str(path.relative_to(media)).startswith("thumbs")
        )

    def wait_for(self, job_id: str, predicate, timeout: float = 120, poll: float = 0.1) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if predicate(job):
                return job
            time.sleep(poll)
        raise AssertionError(f"timed out; job is {self.job(job_id)}\n{self.logs()}")


@contextlib.contextmanager
def installation(folder: Path, broker_url: str, **settings: str) -> Iterator[Installation]:
    folder.mkdir(parents=True, exist_ok=True)
    with own_database(folder, "garden_outage") as database_url:
        garden = Installation(folder, database_url, broker_url, **settings)  # already migrated: a template's copy
        try:
            yield garden
        finally:
            garden.stop_workers()


def planned_bulk_keys(job: dict) -> list[str]:
    """The keys a bulk job's plan names (``img_<timestr>_<i><h|v>.jpeg`` per index and orientation)."""
    folder = f"imgPool/{job['emotion']}/" + (f"{job['favorite']}/" if job["favorite"] else "")
    return sorted(f"{folder}img_{job['timestr']}_{index}{orientation}.jpeg" for index in range(job["count"]) for orientation in "hv")
