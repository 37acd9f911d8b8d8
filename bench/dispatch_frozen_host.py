#!/usr/bin/env python3
"""Benchmark: a frozen host's jobs paint elsewhere, once each (docs/scaling.md#which-job-a-worker-takes).

Two real prefork Celery workers, each a host of its own (GARDEN_HOST_NAME), on one SQLite database
and Redis (db 15), paint jobs for one tiny random-weight pipeline. Two jobs warm one worker; then
its whole process group is stopped (SIGSTOP: its presence row stays fresh for three beats of 6 s)
and three jobs are sent. Measured: the seconds until the three are painted, where, and, once the
frozen worker is let go again, whether any job was painted twice. The app's own worker
(generation.dispatch.pull); the routed design it replaced was measured the same way in
bench/results/dispatch-pull-2026-11-28.md.

    .venv/bin/python bench/dispatch_frozen_host.py                 # about 3 min on 2 cores
    .venv/bin/python bench/dispatch_frozen_host.py --limit 120
    .venv/bin/python bench/dispatch_frozen_host.py --smoke         # the same run, on the smoke run's Redis
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit import smoke as _smoke  # noqa: E402

SMOKE_NEEDS = ("redis",)

SUBMIT = """
import json
from generation import services
from generation.requests import JobRequest
ids = [str(services.create_job(request=JobRequest(emotion="calm", count=1, width=64, height=64, steps=2, seed=n)).pk) for n in range({n})]
print(json.dumps(ids))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--limit", type=float, default=150.0, help="seconds to wait for the three jobs")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.broker = _smoke.cache_url(args.broker, "BENCH_FROZEN_HOST_REDIS_URL")
    return args


class Venue:
    def __init__(self, folder: Path, broker: str, model: Path) -> None:
        self.folder = folder
        self.db = folder / "garden.sqlite3"
        self.queue = f"gpu-frozen-{uuid.uuid4().hex[:6]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "GARDEN_VAR_DIR": str(folder / "var"),
            "GARDEN_MEDIA_ROOT": str(folder / "media"),
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": str(model),
            "GARDEN_DIFFUSION_DEVICE": "cpu",
            "GARDEN_DEFAULT_STEPS": "2",
            "GARDEN_GPU_QUEUE": self.queue,
            "GARDEN_WORKER_PRESENCE_SECONDS": "6",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, host: str) -> subprocess.Popen:
        log = (self.folder / f"worker-{host}.log").open("w")
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queue, "-c", "1", "-P", "prefork",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{host}@%h", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env | {"GARDEN_HOST_NAME": host}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def rows(self, sql: str, *args) -> list[sqlite3.Row]:
        with sqlite3.connect(self.db, timeout=20) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(sql, args).fetchall()

    def jobs(self, ids: list[str]) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(ids))
        return self.rows(f"SELECT * FROM generation_generationjob WHERE id IN ({marks})", *[i.replace("-", "") for i in ids])

    def submit(self, n: int) -> list[str]:
        return json.loads(self.manage("shell", "-c", SUBMIT.format(n=n)).strip().splitlines()[-1])


def wait(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.3)
    return None


def frozen_host(args, model: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-frozen-") as folder:
        venue = Venue(Path(folder), args.broker, model)
        venue.manage("migrate", "--no-input", "-v", "0")
        workers = {host: venue.start(host) for host in ("host-a", "host-b")}
        try:
            ready = "SELECT host FROM generation_workerpresence WHERE details LIKE '%ready%'"
            if not wait(lambda: len(venue.rows(ready)) == 2, 300):
                raise SystemExit("the workers did not come up")
            for _ in range(2):  # the first loads the model, the second finds it warm or not (any free worker takes it)
                ids = venue.submit(1)
                done = wait(lambda ids=ids: [j for j in venue.jobs(ids) if j["status"] == "succeeded"], 300)
            warm = done[0]["worker"].split("@")[0]
            os.killpg(workers[warm].pid, signal.SIGSTOP)
            started = time.monotonic()
            stranded = venue.submit(3)
            painted = wait(
                lambda: (lambda js: js if all(j["status"] == "succeeded" for j in js) else None)(venue.jobs(stranded)), args.limit
            )
            seconds = round(time.monotonic() - started, 1) if painted else None
            late = venue.jobs(stranded)
            os.killpg(workers[warm].pid, signal.SIGCONT)
            time.sleep(10)  # it comes back and reads what it held
            again = venue.jobs(stranded)
            return {
                "frozen": warm,
                "seconds_to_paint_three": seconds,
                "painted_within_limit": sum(j["status"] == "succeeded" for j in late),
                "painted_by": sorted(j["worker"].split("@")[0] for j in late if j["worker"]),
                "painted_after_thaw": sum(j["status"] == "succeeded" for j in again),
                "painted_twice": sum(j["attempts"] > 1 for j in again),
                "messages_sent_again": sum(j["resends"] for j in again),
            }
        finally:
            for process in workers.values():
                try:
                    os.killpg(process.pid, signal.SIGCONT)
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    process.kill()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-frozen-model-") as folder:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = Path(folder) / "tiny"
        save_tiny_pipeline(model, seed=0)
        result = frozen_host(args, model)
        print("pull", json.dumps(result), flush=True)
        if result["painted_twice"] or result["painted_within_limit"] < 3:
            raise SystemExit("a frozen host's jobs were not all painted elsewhere once each")


if __name__ == "__main__":
    main()
