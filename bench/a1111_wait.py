#!/usr/bin/env python3
"""An A1111 ``txt2img`` waiting for its job: how soon it answers once the job is done, and how many
database queries the waiting request makes (a1111.waits).

    .venv/bin/python bench/a1111_wait.py                                  # SQLite, the file channel
    .venv/bin/python bench/a1111_wait.py --cache redis://127.0.0.1:6379/9 # Redis pub/sub
    .venv/bin/python bench/a1111_wait.py --smoke                          # 2 requests, 0.5 s held: seconds

In this process (bench.harness.venue.here: a migrated SQLite copy, the real views through Django's test
client): a thread posts ``/sdapi/v1/txt2img`` (a trusted address, the procedural painter) and waits;
its job stays queued (no worker takes the message; a presence row says one is there) for ``--hold``
seconds, then this thread runs it (``execute_job``). Per request: the time from the job's success
committed (``Attempt.succeed`` returned) to the answer in the waiting thread, and the queries the
waiting thread made (its whole request, and per second held). Then the cost of one announcement on
this channel (``changes.announce_ids``, what every job's end now costs the bulk path).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here

BODY = {"prompt": "a calm garden", "steps": 1, "width": 64, "height": 64}


def parse_args():
    made = parser(__doc__)
    made.add_argument("--requests", type=int, default=20)
    made.add_argument("--hold", type=float, default=3.0, help="Seconds each job stays queued while its request waits")
    made.add_argument("--cache", default="", help="CACHE_URL (redis://… for Redis pub/sub; default: the embedded file channel)")
    made.add_argument("--announcements", type=int, default=2000, help="Announcements timed for the per-job cost")
    args = made.parse_args()
    if args.smoke:
        args.requests, args.hold, args.announcements = 2, 0.5, 50
    return args


def one_request(client, hold: float, succeeded_at: dict) -> dict:
    """One waiting txt2img; its job run after ``hold`` seconds by this thread."""
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    from generation.models import GenerationJob
    from generation.worker import runner

    answer: dict = {}

    def post() -> None:
        with CaptureQueriesContext(connections["default"]) as queries:  # this thread's own connection object
            answer["queries"] = queries  # read by the other thread while this one waits
            response = client.post("/sdapi/v1/txt2img", BODY, "application/json")
        answer.update(status=response.status_code, at=time.perf_counter(), total=len(queries))
        connection.close()

    before = set(GenerationJob.objects.values_list("pk", flat=True))
    waiting = threading.Thread(target=post)
    waiting.start()
    while not (job_ids := set(GenerationJob.objects.values_list("pk", flat=True)) - before):
        time.sleep(0.005)
    time.sleep(0.5)  # the request records its caller, sends the message and starts waiting
    waited_from = len(answer["queries"])
    time.sleep(hold)
    held = len(answer["queries"]) - waited_from  # the queries of the wait itself, the job still queued
    if os.environ.get("BENCH_SHOW_QUERIES"):
        print([query["sql"][:120] for query in answer["queries"].captured_queries[waited_from:]], file=sys.stderr)
    runner.execute_job(job_id=job_ids.pop(), worker="bench@gpu")
    waiting.join(timeout=60)
    assert answer.get("status") == 200, answer
    return {"latency": answer["at"] - succeeded_at["at"], "queries": answer["total"], "held": held}


def announcement_cost(count: int) -> float:
    """Seconds per ``changes.announce_ids`` of one job on this installation's channel."""
    import uuid

    from generation import changes

    ids = [uuid.uuid4() for _ in range(count)]
    started = time.perf_counter()
    for job_id in ids:
        changes.announce_ids([job_id])
    return (time.perf_counter() - started) / count


def main() -> None:
    args = parse_args()
    started = results.machine()
    settings = {"GARDEN_GENERATOR_BACKEND": "procedural", "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1", "GARDEN_LOG_LEVEL": "WARNING"}
    # the embedded cache (its file channel) unless --cache names one
    with here(
        "bench-a1111-wait-", memory=True, DJANGO_ALLOWED_HOSTS="testserver", **settings, **({"CACHE_URL": args.cache} if args.cache else {})
    ):
        from django.test import Client
        from django.utils import timezone

        from generation import changes
        from generation.models import WorkerPresence
        from generation.worker.attempt import Attempt

        WorkerPresence.objects.create(name="bench@gpu", queues=["gpu"], gpu=True, seen_at=timezone.now() + timezone.timedelta(hours=1))
        succeeded_at: dict = {}
        succeed = Attempt.succeed

        def stamped(*a, **kw):  # the success committed (autocommit) and announced: the clock starts
            done = succeed(*a, **kw)
            succeeded_at["at"] = time.perf_counter()
            return done

        Attempt.succeed = stamped
        client = Client(REMOTE_ADDR="127.0.0.1")
        runs = [one_request(client, args.hold, succeeded_at) for _ in range(args.requests)]
        latencies = sorted(run["latency"] * 1000 for run in runs)
        queries = [run["queries"] for run in runs]
        result = {
            "channel": changes.channel_kind(),
            "requests": args.requests,
            "hold_s": args.hold,
            "answer_after_success_ms": {
                "median": round(statistics.median(latencies), 1),
                "max": round(latencies[-1], 1),
            },
            "queries_per_request": {"median": statistics.median(queries), "max": max(queries)},
            "queries_per_second_waiting": round(statistics.median(run["held"] for run in runs) / args.hold, 2),
            "announcement_us": round(announcement_cost(args.announcements) * 1e6, 1),
        }
        changes.stop_listeners()
    print(json.dumps(result, indent=2))
    print(results.load_line("at the end"))
    results.write(args.json, "a1111_wait", vars(args), result, started)


if __name__ == "__main__":
    main()
