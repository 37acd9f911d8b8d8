#!/usr/bin/env python3
"""Benchmark: each worker takes the job it paints best (docs/scaling.md#which-job-a-worker-takes).

Two real Celery GPU workers (prefork, concurrency 1), each a "host" of its own (GARDEN_HOST_NAME),
on PostgreSQL (127.0.0.1:5432, a database made here and dropped after) and Redis (db 12, queues of
their own), paint jobs for two tiny random-weight SD pipelines of the model library
(testkit/tiny_pipeline.py), alternating A, B, A, B… With GARDEN_DIFFUSION_MAX_LOADED=1 a
worker holds one model at a time, as a card holds one full-size checkpoint: a job for the other
model loads it again. Two scenarios, in the same run, on the same machine:

- **pull** (the app as it runs): both workers on the one queue, each message claiming the job its
  worker paints best now (generation.dispatch.pull);
- **pinned** (the baseline): one worker per model, each on a queue of its own: no switch at all.

A "load" is a job whose worker loaded its pipeline (``timings.load`` > 0, generation.worker.runner).
Pictures per second: jobs ÷ (last finish − first start). Aims: pull ≤ 4 loads, nothing painted
twice (attempts > 1), pictures/s within 10 % of pinned. (The routed design this replaced, and
taking jobs oldest first, are measured in bench/results/library-routing-2026-11-28.md and
dispatch-pull-2026-11-28.md.)

``--folders`` (issue 87): each host has a models folder of its own and the venue a store
(``GARDEN_MODELS_STORE=file://…``): host0's folder holds the two diffusers folders (its scan puts
them into the store, as files by sha256 plus a manifest), host1's starts empty and fetches each
folder through library.cache.local_path the first time a job needs it there. The loads counted are
the same; a fetch is part of a job's load.

    .venv/bin/python bench/library_routing.py               # 200 jobs per scenario (a few minutes on 2 cores)
    .venv/bin/python bench/library_routing.py --jobs 40
    .venv/bin/python bench/library_routing.py --smoke       # 4 jobs per scenario
    .venv/bin/python bench/library_routing.py --folders --order pull     # host1 fetches the folders from the store
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE_NEEDS = ("postgresql", "redis")
sys.path.insert(0, str(ROOT))

from config import test_databases  # noqa: E402

MODELS = ("tiny-sd-a", "tiny-sd-b")
SUBMIT = """
import sys
from generation import services
from generation.requests import JobRequest
models, jobs, queues = {models!r}, {jobs}, {queues!r}
for n in range(jobs):
    model = models[n % 2]
    request = JobRequest(emotion="calm", count=1, width=64, height=64, steps=2, seed=n, model=model)
    services.create_job(request=request, queue=queues[n % 2] if queues else "")
print("submitted", jobs)
"""


def postgres_server() -> str:
    """DATABASE_URL's server when it is PostgreSQL (CI's), else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.split("?", 1)[0].rsplit("/", 1)[0]
    return "postgres://postgres@127.0.0.1:5432"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12", help="Redis for the workers' queues (their own names)")
    parser.add_argument("--postgres", default=postgres_server(), help="PostgreSQL server (a database is made there and dropped)")
    parser.add_argument("--db-prefix", default="garden_bench_routing_", help="the made database's name starts so")
    parser.add_argument("--order", default="pull,pinned", help="The scenarios, in this order (a loaded machine drifts)")
    parser.add_argument("--folders", action="store_true", help="a models folder per host, host1's empty, and a store between them")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.jobs = 4
    return args


class Venue:
    def __init__(self, work: Path, args) -> None:
        self.work = work
        self.db_name = f"{args.db_prefix}{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"{args.postgres}/{self.db_name}",
            "CELERY_BROKER_URL": args.broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "GARDEN_MODELS_DIR": str(work / "models"),
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": str(work / "models" / MODELS[0]),
            "GARDEN_DIFFUSION_DEVICE": "cpu",
            "GARDEN_DIFFUSION_MAX_LOADED": "1",
            "GARDEN_HF_OFFLINE": "true",
            "GARDEN_WORKER_PRESENCE_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.folders = args.folders
        if args.folders:
            self.env["GARDEN_MODELS_STORE"] = f"file://{work / 'store'}"
            self.env["GARDEN_HOST_NAME"] = "host0"
            (work / "store").mkdir(exist_ok=True)
        self.workers: list[subprocess.Popen] = []

    def models_dir(self, host: str) -> str:
        """host0's folder holds the models; with --folders, each other host has its own (empty at first)."""
        if not self.folders or host == "host0":
            return str(self.work / "models")
        folder = self.work / f"models-{host}"
        folder.mkdir(exist_ok=True)
        return str(folder)

    def manage(self, *args: str, env: dict | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env or self.env, capture_output=True, text=True, timeout=900
        )
        if result.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name: str, host: str, queue: str, env: dict) -> None:
        log = (self.work / f"{name}.log").open("w")
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-c", "1", "-P", "prefork",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h", "--loglevel", "INFO"],
                cwd=ROOT, env=env | {"GARDEN_HOST_NAME": host, "GARDEN_MODELS_DIR": self.models_dir(host)},
                stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip

    def stop(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.workers = []


def wait_ready(count: int, timeout: float = 300) -> None:
    from generation.models import WorkerPresence

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WorkerPresence.objects.filter(details__state="ready").count() >= count:
            return
        time.sleep(0.5)
    raise SystemExit("the workers did not come up (see their logs)")


def wait_done(jobs: int, timeout: float) -> dict:
    from generation.models import GenerationJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = ("status", "timings", "created_at", "started_at", "finished_at", "worker", "model", "resends", "attempts")
        rows = list(GenerationJob.objects.values(*fields))
        if len(rows) >= jobs and all(row["status"] in ("succeeded", "failed", "cancelled") for row in rows):
            break
        time.sleep(1.0)
    else:
        raise SystemExit(f"timed out: {GenerationJob.objects.exclude(status='succeeded').count()} job(s) not done")
    first = min(row["started_at"] for row in rows)
    last = max(row["finished_at"] for row in rows)
    seconds = (last - first).total_seconds()
    loads = [row for row in rows if (row["timings"] or {}).get("load", 0) > 0]
    per_worker: dict[str, int] = {}
    for row in loads:
        per_worker[row["worker"]] = per_worker.get(row["worker"], 0) + 1
    return {
        **spread(rows),
        "jobs": len(rows),
        "succeeded": sum(row["status"] == "succeeded" for row in rows),
        "loads": len(loads),
        "loads_per_worker": per_worker,
        "seconds": round(seconds, 2),
        "pictures_per_second": round(len(rows) / seconds, 3),
        "messages_sent_again": sum(row["resends"] for row in rows),
        "painted_twice": sum(row["attempts"] > 1 for row in rows),
    }


def spread(rows: list[dict]) -> dict:
    """How the work was spread: the submitter's seconds (first to last job created), each worker's
    jobs and seconds painting (started to finished), and the seconds both workers painted at once."""
    created = [row["created_at"] for row in rows]
    busy: dict[str, list] = {}
    for row in rows:
        busy.setdefault(row["worker"], []).append((row["started_at"], row["finished_at"]))
    spans = list(busy.values())
    both = 0.0
    if len(spans) == 2:
        for start, end in spans[0]:
            for other_start, other_end in spans[1]:
                both += max(0.0, (min(end, other_end) - max(start, other_start)).total_seconds())
    return {
        "submit_seconds": round((max(created) - min(created)).total_seconds(), 2),
        "jobs_per_worker": {worker: len(items) for worker, items in busy.items()},
        "painting_seconds": {
            worker: round(sum((end - start).total_seconds() for start, end in items), 2) for worker, items in busy.items()
        },
        "both_painting_seconds": round(both, 2),
    }


def scenario(venue: Venue, name: str, args) -> dict:
    from generation.models import GenerationJob, WorkerPresence

    GenerationJob.objects.all().delete()
    WorkerPresence.objects.all().delete()
    tag = uuid.uuid4().hex[:6]
    shared = f"gpu-{tag}"
    env = venue.env | {"GARDEN_GPU_QUEUE": shared}
    queues = [f"{shared}-a", f"{shared}-b"] if name == "pinned" else []
    for n in range(2):
        venue.start(f"{name}{n}-{tag}", f"host{n}", queues[n] if queues else shared, env)
    try:
        wait_ready(2)
        started = time.monotonic()
        venue.manage("shell", "-c", SUBMIT.format(models=MODELS, jobs=args.jobs, queues=queues), env=env)
        result = wait_done(args.jobs, timeout=120 + 40 * args.jobs)
        result["wall_seconds"] = round(time.monotonic() - started, 2)
    finally:
        venue.stop()
    return result


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as folder:
        work = Path(folder)
        from testkit.tiny_pipeline import save_tiny_pipeline

        for seed, model in enumerate(MODELS):
            save_tiny_pipeline(work / "models" / model, seed=seed)
        venue = Venue(work, args)
        import psycopg

        admin = psycopg.connect(args.postgres + "/postgres", autocommit=True)
        # a copy of the tests' migrated template (config/test_databases.py): no migration of its own
        admin.execute(f'CREATE DATABASE "{venue.db_name}" TEMPLATE "{test_databases.template(args.postgres + "/postgres")}"')
        try:
            venue.manage("scan_models")
            os.environ.update({key: value for key, value in venue.env.items() if key.startswith(("DATABASE_", "GARDEN_", "DJANGO_"))})
            import django

            django.setup()
            results = {}
            for name in args.order.split(","):
                results[name] = scenario(venue, name, args)
                print(name, json.dumps(results[name]), flush=True)
            from django.db import connections

            connections.close_all()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{venue.db_name}" WITH (FORCE)')
    ratio = results["pull"]["pictures_per_second"] / results["pinned"]["pictures_per_second"] if {"pull", "pinned"} <= set(results) else 0.0
    where = "; a folder per host, host1's fetched from a store" if args.folders else ""
    print(f"\n{args.jobs} alternating jobs, two workers, GARDEN_DIFFUSION_MAX_LOADED=1{where}")
    print(f"{'scenario':<10} {'loads':>6} {'pictures/s':>11} {'seconds':>8}")
    for name, result in results.items():
        print(f"{name:<10} {result['loads']:>6} {result['pictures_per_second']:>11.3f} {result['seconds']:>8.1f}")
    if ratio:
        print(f"pull ÷ pinned pictures/s: {ratio:.3f} (aim ≥ 0.90)")
    if "pull" in results:
        print(f"pull loads {results['pull']['loads']} (aim ≤ 4), painted twice {results['pull']['painted_twice']}")
    if args.json:
        args.json.write_text(json.dumps({"args": {"jobs": args.jobs}, "results": results, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
