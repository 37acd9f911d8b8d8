#!/usr/bin/env python3
"""Waiting kiosks block nothing else: ``POST /garden`` p50 with 0 and with ``--waiting`` (64) live
long polls waiting (``GET /live/<uuid>?wait=10``, asked again at once as the kiosk does), in one
run, on the web server as the Procfile runs it (its own ``web`` line: gthread on config.wsgi, 2
processes of 16 request threads and GARDEN_LIVE_WAIT_SLOTS long-poll threads, deploy/gunicorn.conf.py);
``--server gthread`` for a gthread server without the long polls' threads (16 threads a process, 12
of which may wait: the release before the ASGI server).

    .venv/bin/python bench/long_poll.py                   # 64 waiting, /garden 3 x 10 s each way
    .venv/bin/python bench/long_poll.py --server gthread  # the same without the long polls' threads
    .venv/bin/python bench/long_poll.py --smoke           # 4 waiting, 2 s each way

The live jobs stay queued (no worker paints them: a presence row says one is there), so every long
poll waits its whole bound. wrk (Debian's ``wrk``) drives /garden with 8 connections from one
thread, rounds alternating with and without the waiters; the figure is the median of each side's
p50s, and their ratio (aim ≤ 1.10). The installation is its own (SQLite, a small demo garden).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._wrk import run_wrk  # noqa: E402
from bench.harness import results  # noqa: E402 (after the path is set)
from testkit.servers import gunicorn  # noqa: E402

MAKE_JOBS = """
import json
from django.utils import timezone
from generation.models import WorkerPresence
from live import services
WorkerPresence.objects.create(name="bench@live", queues=["live"], seen_at=timezone.now() + timezone.timedelta(hours=1))
jobs = [services.request_live_picture(visitor_id=f"waiting-{n}", search_key="calm").pk for n in range(%d)]
print(json.dumps([str(job) for job in jobs]))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=("procfile", "gthread"), default="procfile")
    parser.add_argument("--waiting", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds of wrk per round")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds each way, alternating")
    parser.add_argument("--smoke", action="store_true", help="4 waiting, 1 round of 2 s each way: seconds")
    args = parser.parse_args()
    if args.smoke:
        args.waiting, args.seconds, args.rounds = 4, 2.0, 1
    return args


class Kiosks:
    """``len(jobs)`` kiosks, each asking GET /live/<job>?wait=10 again as soon as it is answered."""

    def __init__(self, port: int, jobs: list[str]) -> None:
        self.port, self.jobs = port, jobs
        self.stop = threading.Event()
        self.answers = 0
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.kiosk, args=(job,), daemon=True) for job in jobs]

    def kiosk(self, job: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            try:
                connection.request("GET", f"/live/{job}?wait=10")
                response = connection.getresponse()
                body = response.read()
                if response.status != 200 or json.loads(body)["status"] != "queued":
                    self.errors.append(f"{response.status}: {body[:200]!r}")
                self.answers += 1
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                time.sleep(0.1)

    def __enter__(self) -> Kiosks:
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # every poll sent and waiting
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()


def main() -> int:
    args = parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="garden-bench-long-poll-") as work:
        settings = {
            "GARDEN_LIVE_MAX_QUEUED": "100000",
            "GARDEN_LIVE_DAILY_BUDGET": "0",
            "GARDEN_KIOSK_RATE": "100000000/minute",
            "GARDEN_LIVE_RATE": "100000000/minute",
            "GARDEN_KIOSK_IDLE_SECONDS": "3600",
            "GARDEN_LOG_LEVEL": "WARNING",
        }
        if args.server == "gthread":
            settings["GARDEN_LIVE_WAIT_SLOTS"] = "12"  # of its 16 threads, as that release ran
        with gunicorn(Path(work), workers=2, threads=16, procfile=args.server == "procfile", compress_static=False, **settings) as server:
            jobs = json.loads(server.manage("shell", "-c", MAKE_JOBS % args.waiting).strip().splitlines()[-1])
            port = int(server.base.rsplit(":", 1)[1])
            rng = random.Random(7)
            keys = ["happy", "calm", "sad", "happy/spring,sunny,day", "calm/autumn,rainy,sunset"]
            bodies = [json.dumps({"id": f"v{rng.randrange(200)}", "emotion": rng.choice(keys)}) for _ in range(500)]
            common = {"port": port, "path": "/garden", "bodies": bodies, "duration": args.seconds, "connections": 8, "threads": 1}
            run_wrk(work=Path(work), **{**common, "duration": 1.0})  # primer: the serving caches of both processes
            quiet, busy, answers, errors = [], [], 0, []
            for _ in range(args.rounds):
                quiet.append(run_wrk(work=Path(work), **common))
                with Kiosks(port, jobs) as kiosks:
                    busy.append(run_wrk(work=Path(work), **common))
                answers, errors = answers + kiosks.answers, errors + kiosks.errors
    p50 = {side: statistics.median(run["p50_ms"] for run in runs) for side, runs in (("quiet", quiet), ("busy", busy))}
    print(f"server: {args.server} (2 processes, 16 request threads each); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"POST /garden, wrk 8 connections, {args.rounds} x {args.seconds:g} s each way:")
    for side, runs in (("no long poll waiting", quiet), (f"{args.waiting} long polls waiting", busy)):
        rates = ", ".join(f"{run['rps']:.0f}/s p50 {run['p50_ms']:.1f} p99 {run['p99_ms']:.1f}" for run in runs)
        non2xx = sum(run["non2xx"] + run["socket_errors"] for run in runs)
        print(f"  {side:28s} p50 {p50['quiet' if runs is quiet else 'busy']:7.2f} ms   ({rates}; not 2xx: {non2xx})")
    print(f"  waiting ÷ none, p50: {p50['busy'] / p50['quiet']:.3f} (aim ≤ 1.10); long polls answered meanwhile: {answers},"
          f" errors: {len(errors)} {errors[:3]}")  # fmt: skip
    print(results.load_line("at the end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
