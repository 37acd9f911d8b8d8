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

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import Venue, postgres_server
from testkit import smoke

SMOKE_NEEDS = ("postgresql", "redis")
MODELS = ("tiny-sd-a", "tiny-sd-b")
HOSTS = ("host0", "host1")
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


def parse_args():
    made = parser(__doc__)
    made.add_argument("--jobs", type=int, default=200)
    made.add_argument("--broker", default="redis://127.0.0.1:6379/12", help="Redis for the workers' queues (their own names)")
    made.add_argument("--postgres", default=postgres_server(), help="PostgreSQL server (a database is made there and dropped)")
    made.add_argument("--db-prefix", default="garden_bench_routing_", help="the made database's name starts so")
    made.add_argument("--order", default="pull,pinned", help="The scenarios, in this order (a loaded machine drifts)")
    made.add_argument("--folders", action="store_true", help="a models folder per host, host1's empty, and a store between them")
    args = made.parse_args()
    if args.smoke:
        args.jobs = 4
    return args


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
    shared = venue.queue(f"gpu-{name}")
    queues = [f"{shared}-a", f"{shared}-b"] if name == "pinned" else []
    for n, host in enumerate(HOSTS):
        venue.start_worker(host, queue=queues[n] if queues else shared, GARDEN_GPU_QUEUE=shared)
    try:
        venue.wait_ready(list(HOSTS))
        started = time.monotonic()
        venue.manage("shell", "-c", SUBMIT.format(models=MODELS, jobs=args.jobs, queues=queues), host="host0", GARDEN_GPU_QUEUE=shared)
        try:
            result = wait_done(args.jobs, timeout=120 + 40 * args.jobs)
        except SystemExit as timed_out:  # say why: the jobs' states and each worker's last lines
            states = list(GenerationJob.objects.values_list("id", "status", "worker", "queue", "attempts", "resends"))
            logs = "".join(f"\n--- {host}'s worker:\n" + venue.log(host).read_text(errors="replace")[-4000:] for host in HOSTS)
            raise SystemExit(f"{name}: {timed_out}\njobs (id, status, worker, queue, attempts, resends): {states}{logs}") from None
        result["wall_seconds"] = round(time.monotonic() - started, 2)
    finally:
        venue.stop_workers()
    return result


def main() -> None:
    args = parse_args()
    machine = results.machine()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as folder:
        work = Path(folder)
        from testkit.tiny_pipeline import save_tiny_pipeline

        for seed, model in enumerate(MODELS):
            save_tiny_pipeline(work / "models" / model, seed=seed)
        settings = {"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_MODEL": str(work / "models" / MODELS[0]),
                    "GARDEN_DIFFUSION_DEVICE": "cpu", "GARDEN_DIFFUSION_MAX_LOADED": "1",
                    "GARDEN_WORKER_PRESENCE_SECONDS": "1"}  # fmt: skip
        # a smoke run's database is named as tests/bench/test_smoke.py drops it, even after a timeout
        database = (
            args.smoke and smoke.database_url("library_routing", "", "")
        ) or f"{args.postgres}/{args.db_prefix}{uuid.uuid4().hex[:8]}"
        with Venue(work, database=database, broker=args.broker, store="file" if args.folders else "", **settings) as venue:
            # host0's folder holds the models; with --folders host1 has its own, empty at first
            venue.folders = {"host0": work / "models"} if args.folders else dict.fromkeys(HOSTS, work / "models")
            venue.manage("scan_models", host="host0")
            venue.join()
            measured = {name: scenario(venue, name, args) for name in args.order.split(",")}
    for name, result in measured.items():
        print(name, json.dumps(result), flush=True)
    both = {"pull", "pinned"} <= set(measured)
    ratio = measured["pull"]["pictures_per_second"] / measured["pinned"]["pictures_per_second"] if both else 0.0
    where = "; a folder per host, host1's fetched from a store" if args.folders else ""
    print(f"\n{args.jobs} alternating jobs, two workers, GARDEN_DIFFUSION_MAX_LOADED=1{where}; {results.load_line('at the end')}")
    print(f"{'scenario':<10} {'loads':>6} {'pictures/s':>11} {'seconds':>8}")
    for name, result in measured.items():
        print(f"{name:<10} {result['loads']:>6} {result['pictures_per_second']:>11.3f} {result['seconds']:>8.1f}")
    if ratio:
        print(f"pull ÷ pinned pictures/s: {ratio:.3f} (aim ≥ 0.90)")
    if "pull" in measured:
        print(f"pull loads {measured['pull']['loads']} (aim ≤ 4), painted twice {measured['pull']['painted_twice']}")
    results.write(args.json, "library_routing", {"jobs": args.jobs, "folders": args.folders}, measured | {"ratio": ratio}, machine)


if __name__ == "__main__":
    main()
