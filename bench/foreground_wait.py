#!/usr/bin/env python3
"""Benchmark: how long a foreground job waits behind a running background job
(docs/generation.md#foreground-before-background).

One real prefork Celery worker (the app's own, on Redis db 14 and a SQLite database) paints with a
tiny random-weight pipeline. Each round, once per setting and alternating in the same run, on a
fresh worker warmed by one picture (the model loaded): a background job of N pictures painted
alone (its time, started to finished), then the same job again with a foreground job of one
picture sent once two of its pictures are stored: the foreground job's answer time (created to
finished), and whether the background job still completed with its N pictures. Settings:
``yield`` (GARDEN_BACKGROUND_CALL_PICTURES=1, GARDEN_BACKGROUND_YIELD=true, the defaults) against
``off`` (the ordinary batch size and no yield: the code before). The ratio is the foreground
answer over the background job alone, measured in the same round (aim: ≤ 0.40).

    .venv/bin/python bench/foreground_wait.py                      # 2 rounds, about 10 min on 2 cores
    .venv/bin/python bench/foreground_wait.py --rounds 3 --count 12 --size 256 --steps 4
    .venv/bin/python bench/foreground_wait.py --smoke              # one short round
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit import smoke as _smoke  # noqa: E402

SMOKE_NEEDS = ("redis",)

SETTINGS = {
    "yield": {"GARDEN_BACKGROUND_CALL_PICTURES": "1", "GARDEN_BACKGROUND_YIELD": "true"},
    "off": {"GARDEN_BACKGROUND_CALL_PICTURES": "0", "GARDEN_BACKGROUND_YIELD": "false"},
}

# The background job; with ``foreground`` a one-picture foreground job too, once two pictures are stored.
SEND = """
import json, time
from generation import services
from generation.models import GenerationJob
from generation.requests import JobRequest
background = services.create_job(
    request=JobRequest(emotion="calm", count={count}, width={size}, height={size}, steps={steps}, seed={seed}), background=True
)
ids = {{"background": str(background.pk)}}
if {foreground}:
    deadline = time.monotonic() + 600
    while GenerationJob.objects.get(pk=background.pk).images_done < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    foreground = services.create_job(request=JobRequest(emotion="happy", count=1, width=64, height=64, steps=2, seed={seed}))
    ids["foreground"] = str(foreground.pk)
print(json.dumps(ids))
"""

KEYS = """
import json
from generation.models import GenerationJob
print(json.dumps(list(GenerationJob.objects.get(pk="{pk}").images.values_list("key", flat=True))))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, default=12, help="pictures of the background job")
    parser.add_argument("--size", type=int, default=192, help="the background pictures' width and height")
    parser.add_argument("--steps", type=int, default=6, help="the background job's steps")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.broker = _smoke.cache_url(args.broker, "BENCH_FOREGROUND_WAIT_REDIS_URL")
        args.rounds, args.count, args.size, args.steps = 1, 4, 64, 2
    return args


class Venue:
    def __init__(self, folder: Path, broker: str, model: Path) -> None:
        self.folder, self.db = folder, folder / "garden.sqlite3"
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
            "GARDEN_DIFFUSION_BATCH_SIZE": "4",
            "GARDEN_GPU_QUEUE": f"gpu-foreground-{uuid.uuid4().hex[:6]}",
            "PYTHONUNBUFFERED": "1",
        }
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900)
        if result.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    def start(self, setting: str) -> None:
        log = (self.folder / f"worker-{setting}.log").open("w")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.env["GARDEN_GPU_QUEUE"], "-c", "1", "-P",
             "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{setting}@%h", "--loglevel", "INFO"],
            cwd=ROOT, env=self.env | SETTINGS[setting], stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if not wait(lambda: self.rows("SELECT name FROM generation_workerpresence WHERE details LIKE '%ready%'"), 600):
            raise SystemExit("the worker did not come up")

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        self.rows("DELETE FROM generation_workerpresence")

    def rows(self, sql: str, *args) -> list[sqlite3.Row]:
        with sqlite3.connect(self.db, timeout=30) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(sql, args).fetchall()

    def finished(self, pk: str, limit: float = 900) -> sqlite3.Row:
        sql = "SELECT * FROM generation_generationjob WHERE id = ? AND status IN ('succeeded', 'failed', 'cancelled')"
        row = wait(lambda: (self.rows(sql, pk.replace("-", "")) or [None])[0], limit)
        if row is None:
            raise SystemExit(f"job {pk} did not finish")
        return row


def wait(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    return None


def seconds(row: sqlite3.Row, start: str, end: str) -> float:
    return (datetime.fromisoformat(str(row[end])) - datetime.fromisoformat(str(row[start]))).total_seconds()


def one_round(venue: Venue, args, setting: str, seed: int) -> dict:
    venue.start(setting)
    try:
        job = dict(count=args.count, size=args.size, steps=args.steps, seed=seed)
        warm = SEND.format(**job | {"count": 1}, foreground=False)  # the model loaded before anything is timed
        venue.finished(json.loads(venue.manage("shell", "-c", warm))["background"])
        alone = venue.finished(json.loads(venue.manage("shell", "-c", SEND.format(**job, foreground=False)))["background"])
        ids = json.loads(venue.manage("shell", "-c", SEND.format(**job, foreground=True)))
        foreground, background = venue.finished(ids["foreground"]), venue.finished(ids["background"])
        keys = json.loads(venue.manage("shell", "-c", KEYS.format(pk=ids["background"])))
    finally:
        venue.stop()
    answer = seconds(foreground, "created_at", "finished_at")
    return {
        "setting": setting,
        "background_alone_s": round(seconds(alone, "started_at", "finished_at"), 2),
        "foreground_answer_s": round(answer, 2),
        "ratio": round(answer / seconds(alone, "started_at", "finished_at"), 3),
        "background_completed": background["status"] == "succeeded" and len(set(keys)) == len(keys) == args.count,
        "background_yields": json.loads(background["timings"] or "{}").get("yields", 0),
        "background_attempts": background["attempts"],
    }


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-foreground-") as folder:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = Path(folder) / "tiny"
        save_tiny_pipeline(model, seed=0)
        venue = Venue(Path(folder), args.broker, model)
        venue.manage("migrate", "--no-input", "-v", "0")
        results: dict[str, list[dict]] = {name: [] for name in SETTINGS}
        for number in range(args.rounds):
            for setting in SETTINGS:  # alternating, same seeds for both settings in a round
                result = one_round(venue, args, setting, seed=100 + number)
                results[setting].append(result)
                print(json.dumps(result), flush=True)
        for setting, rounds in results.items():
            ratios = [r["ratio"] for r in rounds]
            spread = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else 0.0
            print(f"{setting}: ratio {statistics.mean(ratios):.3f} ± {spread:.3f} (standard error, {len(ratios)} rounds)", flush=True)
        if not all(r["background_completed"] for rounds in results.values() for r in rounds):
            raise SystemExit("a background job did not complete with its pictures once each")


if __name__ == "__main__":
    main()
