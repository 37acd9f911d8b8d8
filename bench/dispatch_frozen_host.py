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

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import DONE, Venue, wait_for
from testkit import smoke

SMOKE_NEEDS = ("redis",)
HOSTS = ("host-a", "host-b")


def parse_args():
    made = parser(__doc__)
    made.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    made.add_argument("--limit", type=float, default=150.0, help="seconds to wait for the three jobs")
    args = made.parse_args()
    if args.smoke:
        args.broker = smoke.cache_url(args.broker, "BENCH_FROZEN_HOST_REDIS_URL")
    return args


def submit(n: int) -> list:
    from generation import services
    from generation.requests import JobRequest

    return [services.create_job(request=JobRequest(emotion="calm", count=1, width=64, height=64, steps=2, seed=seed)) for seed in range(n)]


def refreshed(jobs: list) -> list:
    for job in jobs:
        job.refresh_from_db()
    return jobs


def painter(venue: Venue, job) -> str:
    """The host whose worker painted ``job`` (worker names are ``<host>-<venue tag>@<machine>``)."""
    return job.worker.split("@")[0].removesuffix(f"-{venue.tag}")


def frozen_host(venue: Venue, args) -> dict:
    workers = {host: venue.start_worker(host, new_session=True) for host in HOSTS}
    venue.wait_ready(list(HOSTS))
    for _ in range(2):  # the first loads the model, the second finds it warm or not (any free worker takes it)
        warmed = venue.wait_job(submit(1)[0], 300)
    warm = painter(venue, warmed)
    os.killpg(workers[warm].pid, signal.SIGSTOP)  # its presence row stays fresh for three beats
    started = time.monotonic()
    # A worker stopped inside its broker read (BRPOP, 1 s) still takes the next message, which then
    # waits for GARDEN_JOB_REQUEUE_AFTER_SECONDS: the jobs are sent once that read is over, as the
    # separate submitting process this bench used before always did (seconds to start).
    time.sleep(2)
    stranded = submit(3)
    painted = wait_for(lambda: all(job.status == "succeeded" for job in refreshed(stranded)), args.limit)
    seconds = round(time.monotonic() - started, 1) if painted else None
    late = [(job.status, painter(venue, job) if job.worker else "") for job in refreshed(stranded)]
    os.killpg(workers[warm].pid, signal.SIGCONT)
    time.sleep(10)  # it comes back and reads what it held
    again = refreshed(stranded)
    return {
        "frozen": warm,
        "seconds_to_paint_three": seconds,
        "painted_within_limit": sum(status == "succeeded" for status, _ in late),
        "painted_by": sorted(host for _, host in late if host),
        "painted_after_thaw": sum(job.status == "succeeded" for job in again),
        "painted_twice": sum(job.attempts > 1 for job in again),
        "messages_sent_again": sum(job.resends for job in again),
        "not_done": sum(job.status not in DONE for job in again),
    }


def main() -> None:
    args = parse_args()
    machine = results.machine()
    with tempfile.TemporaryDirectory(prefix="bench-frozen-") as folder:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = Path(folder) / "tiny"
        save_tiny_pipeline(model, seed=0)
        settings = {"GARDEN_GENERATOR_BACKEND": "diffusers", "GARDEN_DIFFUSION_MODEL": str(model), "GARDEN_DIFFUSION_DEVICE": "cpu",
                    "GARDEN_DEFAULT_STEPS": "2", "GARDEN_WORKER_PRESENCE_SECONDS": "6"}  # fmt: skip
        with Venue(Path(folder) / "venue", broker=args.broker, **settings) as venue:
            venue.join()
            result = frozen_host(venue, args)
    print("pull", json.dumps(result), f"({results.load_line('at the end')})", flush=True)
    results.write(args.json, "dispatch_frozen_host", {"limit": args.limit}, result, machine)
    if result["painted_twice"] or result["painted_within_limit"] < 3:
        raise SystemExit("a frozen host's jobs were not all painted elsewhere once each")


if __name__ == "__main__":
    main()
