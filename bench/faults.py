"""Fault table: each part of an installation killed and started again under kiosk traffic and jobs.

    .venv/bin/python bench/faults.py            # every fault, one installation (about 5 minutes)
    .venv/bin/python bench/faults.py --only redis postgres
    .venv/bin/python bench/faults.py --smoke    # the installation and one fault (2 likes cut at their COMMIT)

Starts the fault suite's own installation (testkit/faults/stack.py: redis-server, a PostgreSQL
cluster made with initdb, a moto S3 server, gunicorn and a Celery worker, all on loopback ports of
their own; the machine's shared servers are never touched), runs the same scenarios as
``pytest -m faults tests/faults`` and prints, per fault: the kiosk calls by answer, likes lost
(answered 200, no row) and duplicated (two rows, or a row for a like answered 5xx), and the
seconds to recover (kiosk: from the part answering again to the end of the last call not answered
200; jobs: from the broker answering again, the kill, or the retry to the job's success). "—" where a scenario sends no kiosk traffic. A
second table gives the answers per endpoint to the calls made while the part was down.

The newer rows read: a like's connection cut at its COMMIT (no outage: "—" down; recovered: the
slowest like from its first call to its answer 200); two Chromium kiosks offline (lost and
duplicated count likes and undos against the visitors' presses; recovered: from the network's
return to both outboxes empty); a worker hung mid-job (down: seconds without progress until the
second attempt started; recovered: from then to the job's success).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.faults import kiosk, outages, processes  # noqa: E402 (needs ROOT on the path)
from testkit.faults.commit_cut import commit_cut  # noqa: E402
from testkit.faults.hung_job import hung_worker  # noqa: E402
from testkit.faults.offline_kiosk import offline_spell  # noqa: E402
from testkit.faults.stack import running_stack  # noqa: E402

SMOKE_NEEDS = ("faults",)  # tests/bench/test_smoke.py: run with `pytest -m faults` (the installation takes a minute or more)
SCENARIOS = {
    "redis": lambda stack: outages.redis_outage(stack, seconds=15),
    "broker": lambda stack: outages.broker_outage(stack, seconds=10),
    "worker": lambda stack: outages.worker_killed(stack, count=12),
    "postgres": lambda stack: outages.postgres_outage(stack, seconds=10),
    "s3": lambda stack: outages.s3_outage(stack),
    "commit-cut": lambda stack: commit_cut(stack, likes=8),
    "kiosk-offline": lambda stack: offline_spell(stack, seconds=20),
    "hung-worker": lambda stack: hung_worker(stack),
}


def statuses(answers) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(answers.items(), key=str)) or "—"


def job_summary(outcome: kiosk.Outcome) -> str:
    facts, parts = outcome.facts, []
    if "create_status" in facts:
        parts.append(f"create {facts['create_status']}")
    failed = facts.get("failed_job")
    if failed is not None:
        storage = "storage error" if "storage" in (failed["error"] or "").lower() else repr((failed["error"] or "")[:60])
        parts.append(f"job {failed['status']} ({storage}) after {facts['failed_after']:.0f} s; retry {facts['retry'][0]}")
    job = facts.get("job")
    if job is not None:
        planned = facts.get("planned") or outages.planned_keys(job, 1)
        keys = facts.get("image_keys", [])
        twice = len(keys) - len(set(keys))
        parts.append(f"job {job['status']}, {len(set(keys) & planned)}/{len(planned)} images ({twice} twice), attempts {job['attempts']}")
        if job.get("resends"):
            parts[-1] += f", re-sent {job['resends']}×"
    return "; ".join(parts)


def row(outcome: kiosk.Outcome) -> list[str]:
    described = "; ".join(part for part in (statuses(outcome.by_status()) if outcome.calls else "", job_summary(outcome)) if part)
    if outcome.ledger:
        lost, duplicated = str(len(outcome.ledger.lost)), str(len(outcome.ledger.duplicated))
    else:
        lost = duplicated = "—"
    recovered = "not within the deadline" if outcome.recover_seconds is None else f"{outcome.recover_seconds:.1f}"
    down = f"{outcome.down_seconds:.1f}" if outcome.down_seconds else "—"  # a cut connection has no outage to time
    return [outcome.fault, down, described, lost, duplicated, recovered]


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run these faults only (in the usual order)")
    parser.add_argument("--smoke", action="store_true", help="the whole installation and one quick fault (2 likes cut at their COMMIT)")
    args = parser.parse_args()
    if args.smoke:
        SCENARIOS["commit-cut"] = lambda stack: commit_cut(stack, likes=2)
        args.only = ["commit-cut"]
    chosen = [name for name in SCENARIOS if not args.only or name in args.only]
    missing = processes.missing_tools()
    if missing:
        print(f"skipped: the fault table needs {', '.join(missing)}")
        if args.smoke:  # a smoke run that cannot start fails
            sys.exit(1)
        return
    outcomes = []
    started = time.monotonic()
    with running_stack() as stack:
        print(f"set-up: {stack.timings} s", file=sys.stderr, flush=True)
        for name in chosen:
            print(f"{name} …", file=sys.stderr, flush=True)
            outcomes.append(SCENARIOS[name](stack))
    table(
        ["fault", "down (s)", "calls by status", "likes lost", "likes duplicated", "seconds to recover"],
        [row(outcome) for outcome in outcomes],
    )
    print()
    table(
        ["fault", "endpoint", "answers while the part was down"],
        [[o.fault, endpoint, statuses(answers)] for o in outcomes for endpoint, answers in sorted(o.outage_by_endpoint().items())],
    )
    print(f"\n{len(outcomes)} faults in {time.monotonic() - started:.0f} s (set-up included)")


if __name__ == "__main__":
    main()
