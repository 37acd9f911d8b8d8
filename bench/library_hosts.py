#!/usr/bin/env python3
"""Benchmark: two hosts whose model folders differ, one library, no row flipping (issue 78,
docs/models.md#several-machines).

Two real Celery workers (prefork, concurrency 1, as the Procfile's ``worker``), each a host of its own
(``GARDEN_HOST_NAME``) with its own ``GARDEN_MODELS_DIR``, follow their folders as every worker does
(library.services.follow: a look every ``--interval`` seconds, a scan when the folder changed), on
one shared database (PostgreSQL, a database made here and dropped after; ``--database sqlite``: one
SQLite file) with a ``file://`` model store. A file that is not a model (``churn.txt``) is rewritten
in each folder every interval, so each look finds its folder changed and scans in full: the scan's
losing rule (an entry this host lacks is lost only when no other live host holds it and the store
does not) runs at every look of both hosts, not only the cheap heartbeat.

The folders (``*`` = in the store; diffusers folders are stored too, as their files and a manifest):

    host A: both*, only-a*, folder-a*, folder-both*
    host B: both*, only-b*, folder-both*
    store only: stored* (on host A when the setup scan pushed it, removed before the workers start)

A sampler reads every library row (present, usable) every ``--sample`` seconds and counts each
row's transitions between added and lost (present) and of usable, and the looks each host makes
(its copies' ``seen_at``). The run's aim: 0 transitions in the steady phase. Then a real change
proves the sampler sees flips: ``folder-a`` (on host A only) is removed and taken out of the store
(its row's ``stored_at`` cleared, as when its upload never finished): its row must go lost exactly
once; and ``only-a`` (in the store) from A and ``folder-both`` from B (the other host holds it) are
removed too (no transition). Scans per host are the workers' own log lines.

    .venv/bin/python bench/library_hosts.py                 # 10 minutes steady, then the change
    .venv/bin/python bench/library_hosts.py --minutes 1 --database sqlite
    .venv/bin/python bench/library_hosts.py --smoke         # seconds steady, interval 1 s
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

from testkit import smoke as _smoke  # noqa: E402 (after the path is set)
from bench.library_scan import write_checkpoint  # noqa: E402
from config import test_databases  # noqa: E402

HOSTS = ("a", "b")
FILES = {"a": ("both", "only-a", "stored"), "b": ("both", "only-b")}
FOLDERS = {"a": ("folder-a", "folder-both"), "b": ("folder-both",)}
SEEDS = {"both": 1, "only-a": 2, "only-b": 3, "stored": 4}  # one file's bytes on every host that has it
LOST_ONCE = "folder-a"  # the change: on host A only, removed and taken out of the store
KEPT = (("a", "only-a.safetensors"), ("b", "folder-both"))  # the change's removals that keep their rows
SCANNED = "model library scanned"  # library.services.entries.scan's log line: one per scan
FAILED = "following the models folder failed"  # the follower's warning (a look that raised)


def postgres_server() -> str:
    """DATABASE_URL's server when it is PostgreSQL (CI's), else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.split("?", 1)[0].rsplit("/", 1)[0]
    return "postgres://postgres@127.0.0.1:5432"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="the steady phase")
    parser.add_argument("--interval", type=float, default=2.0, help="GARDEN_LIBRARY_SCAN_SECONDS")
    parser.add_argument("--sample", type=float, default=0.5, help="seconds between two reads of every row")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres", default=postgres_server(), help="PostgreSQL server (a database is made there and dropped)")
    parser.add_argument("--db-prefix", default="garden_bench_hosts_", help="the made database's name starts so")
    parser.add_argument(
        "--redis",
        default=_smoke.cache_url("redis://127.0.0.1:6379/12", "BENCH_LIBRARY_HOSTS_REDIS"),
        help="the workers' broker and shared cache (keys and queues named per run); default CACHE_URL's Redis, else db 12",
    )
    parser.add_argument("--no-churn", action="store_true", help="no churn.txt: a look scans only when a model changed")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.interval = 0.1, 1.0
    return args


def make_folders(work: Path) -> None:
    for host in HOSTS:
        folder = work / host
        folder.mkdir(parents=True)
        for name in FILES[host]:
            write_checkpoint(folder / f"{name}.safetensors", 0, SEEDS[name])
        for name in FOLDERS[host]:
            (folder / name).mkdir()
            (folder / name / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (work / "store").mkdir()


class Venue:
    def __init__(self, work: Path, args) -> None:
        self.work, self.args, self.tag = work, args, uuid.uuid4().hex[:6]
        self.db_name = f"{args.db_prefix}{self.tag}"
        database = f"{args.postgres}/{self.db_name}" if args.database == "postgresql" else f"sqlite:///{work / 'library.sqlite3'}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": args.redis,
            "CACHE_URL": args.redis,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "GARDEN_MODELS_STORE": (work / "store").as_uri(),
            "GARDEN_LIBRARY_SCAN_SECONDS": str(args.interval),
            "GARDEN_WORKER_PRESENCE_SECONDS": "2",
            "GARDEN_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.workers: list[subprocess.Popen] = []

    def host(self, name: str) -> str:
        return f"host-{name}-{self.tag}"

    def host_env(self, name: str) -> dict:
        return self.env | {"GARDEN_HOST_NAME": self.host(name), "GARDEN_MODELS_DIR": str(self.work / name)}

    def log(self, name: str) -> Path:
        return self.work / f"worker-{name}.log"

    def manage(self, *args: str, env: dict) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name: str) -> None:
        """The Procfile's worker, on a queue of its own (it paints nothing: it follows its folder)."""
        log = self.log(name).open("w")
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", f"library-hosts-{self.tag}",
                 "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-n", f"{self.host(name)}@%h"],
                cwd=ROOT, env=self.host_env(name), stdout=log, stderr=subprocess.STDOUT,
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


class Sampler:
    """Every row's (present, usable) and each host's last look, read every ``every`` seconds."""

    def __init__(self, venue: Venue, every: float) -> None:
        self.venue, self.every = venue, every
        self.state: dict[str, tuple[bool, bool]] = {}
        self.looks: dict[str, set] = {}
        self.samples = 0
        self.flips: dict[str, dict[str, int]] = {}  # per row: added, lost, usable
        self.next_churn = 0.0
        self.churned = 0

    def read(self) -> None:
        from django.db.models import Max

        from library.models import LibraryCopy, LibraryEntry

        for name, present, usable in LibraryEntry.objects.values_list("name", "present", "usable"):
            before = self.state.get(name)
            self.state[name] = (present, usable)
            flips = self.flips.setdefault(name, {"added": 0, "lost": 0, "usable": 0})
            if before is not None and before[0] != present:
                flips["added" if present else "lost"] += 1
            if before is not None and before[1] != usable:
                flips["usable"] += 1
        for host, seen in LibraryCopy.objects.values_list("host").annotate(last=Max("seen_at")).values_list("host", "last"):
            self.looks.setdefault(host, set()).add(seen)
        self.samples += 1

    def churn(self) -> None:
        """churn.txt rewritten in each folder once an interval: each look finds its folder changed."""
        if self.venue.args.no_churn or time.monotonic() < self.next_churn:
            return
        self.churned += 1
        for host in HOSTS:
            (self.venue.work / host / "churn.txt").write_text(f"{self.churned}\n")
        self.next_churn = time.monotonic() + self.venue.args.interval

    def run(self, seconds: float, until=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.churn()
            self.read()
            if until is not None and until(self):
                return
            time.sleep(self.every)

    def phase(self) -> dict:
        """Counts since the last call (per row transitions), then starts again."""
        flips, self.flips = self.flips, {}
        looks = {host: len(seen) for host, seen in self.looks.items()}
        samples, self.samples, self.looks = self.samples, 0, {}
        return {"samples": samples, "looks_seen": looks, "rows": len(self.state), "flips": flips}


def wait_ready(count: int, timeout: float = 180) -> None:
    from generation.models import WorkerPresence

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WorkerPresence.objects.filter(details__state="ready").count() >= count:
            return
        time.sleep(0.5)
    raise SystemExit("the workers did not come up (see their logs)")


def scans(venue: Venue) -> dict[str, int]:
    return {venue.host(name): venue.log(name).read_text(errors="replace").count(SCANNED) for name in HOSTS}


def total(flips: dict[str, dict[str, int]], what: str) -> int:
    return sum(row[what] for row in flips.values())


def recorded_changes(since) -> list[dict]:
    """The LibraryScan rows (written when a scan added, changed or lost something) since ``since``."""
    from library.models import LibraryScan

    rows = LibraryScan.objects.filter(finished_at__gte=since).order_by("finished_at")
    return [{"trigger": row.trigger, "added": row.added, "lost": row.lost, "changed": row.changed} for row in rows]


def forget_stored(name: str) -> None:
    """The store no longer holds ``name`` (as when its upload never finished): its row says so."""
    from library.models import LibraryEntry

    LibraryEntry.objects.filter(name=name).update(stored_at=None)


def run(venue: Venue, args) -> dict:
    from django.utils import timezone

    if args.database != "postgresql":  # PostgreSQL's is a copy of the migrated template
        venue.manage("migrate", "--no-input", "-v", "0", env=venue.env)
    venue.manage("scan_models", env=venue.host_env("a"))  # host A's setup scan: its files go into the store
    (venue.work / "a" / "stored.safetensors").unlink()  # now only the store holds it
    for name in HOSTS:
        venue.start(name)
    sampler = Sampler(venue, args.sample)
    try:
        wait_ready(len(HOSTS))
        expected = {*FILES["a"], *FILES["b"], *FOLDERS["a"], *FOLDERS["b"]}
        sampler.run(60 + 10 * args.interval, until=lambda s: set(s.state) >= expected and len(s.looks) == len(HOSTS))
        if not set(sampler.state) >= expected:
            raise SystemExit(f"the hosts' first scans did not list every row: {sorted(sampler.state)}")
        sampler.phase()
        scans_before, steady_since = scans(venue), timezone.now()
        sampler.run(args.minutes * 60)
        steady = sampler.phase()
        steady["scans"] = {host: count - scans_before[host] for host, count in scans(venue).items()}
        steady["recorded_changes"] = recorded_changes(steady_since)
        steady["states"] = dict(sorted(sampler.state.items()))
        changed_since = timezone.now()
        shutil.rmtree(venue.work / "a" / LOST_ONCE)
        forget_stored(LOST_ONCE)  # the store no longer holds it either: host A had the only copy
        for host, name in KEPT:
            target = venue.work / host / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        removed = time.monotonic()
        sampler.run(max(10.0, 5 * args.interval), until=lambda s: not s.state[LOST_ONCE][0])
        lost_after = round(time.monotonic() - removed, 2)
        sampler.run(3 * args.interval)  # a row that came back, or another that went, would show here
        change = sampler.phase()
        change["recorded_changes"] = recorded_changes(changed_since)
        change["lost_seen_after_s"] = lost_after
        change["states"] = dict(sorted(sampler.state.items()))
        errors = {
            venue.host(name): venue.log(name).read_text(errors="replace").count("following the models folder failed") for name in HOSTS
        }
    finally:
        venue.stop()
    return {"steady": steady, "change": change, "follower_errors": errors, "churn_writes": sampler.churned}


def report(result: dict, args) -> bool:
    steady, change = result["steady"], result["change"]
    print("steady", json.dumps({key: value for key, value in steady.items() if key != "flips"}), flush=True)
    print("change", json.dumps({key: value for key, value in change.items() if key != "flips"}), flush=True)
    print("change flips", json.dumps({name: row for name, row in change["flips"].items() if any(row.values())}))
    lost_once = change["flips"].get(LOST_ONCE, {}).get("lost", 0) == 1 and total(change["flips"], "lost") == 1
    quiet = total(change["flips"], "added") == 0 and total(change["flips"], "usable") == 0
    print(f"\ntwo hosts, folders differ, {args.database}, look every {args.interval:g} s, sample every {args.sample:g} s")
    print(f"steady phase: {args.minutes:g} min; scans per host {steady['scans']}; looks seen {steady['looks_seen']}")
    print(f"  samples {steady['samples']}, rows {steady['rows']}, follower errors {result['follower_errors']}")
    steady_flips = total(steady["flips"], "added") + total(steady["flips"], "lost")
    print(
        f"  transitions between added and lost: {steady_flips} (aim 0); usable: {total(steady['flips'], 'usable')}; "
        f"scans recording a change: {len(steady['recorded_changes'])}"
    )
    print(
        f"change: {LOST_ONCE} removed from A and the store, only-a from A (stored), folder-both from B (A holds it): "
        f"{LOST_ONCE} lost {change['flips'].get(LOST_ONCE, {}).get('lost', 0)} time(s) (aim 1), other transitions "
        f"{total(change['flips'], 'added') + total(change['flips'], 'lost') - change['flips'].get(LOST_ONCE, {}).get('lost', 0)} (aim 0)"
    )
    return steady_flips == 0 and lost_once and quiet


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as folder:
        work = Path(folder)
        make_folders(work)
        venue = Venue(work, args)
        admin = None
        if args.database == "postgresql":
            import psycopg

            admin = psycopg.connect(args.postgres + "/postgres", autocommit=True)
            # a copy of the tests' migrated template (config/test_databases.py): no migration of its own
            admin.execute(f'CREATE DATABASE "{venue.db_name}" TEMPLATE "{test_databases.template(args.postgres + "/postgres")}"')
        try:
            os.environ.update(
                {key: value for key, value in venue.env.items() if key.startswith(("DATABASE_", "GARDEN_", "DJANGO_", "CACHE_"))}
            )
            import django

            django.setup()
            result = run(venue, args)
            from django.db import connections

            connections.close_all()
        finally:
            if admin is not None:
                admin.execute(f'DROP DATABASE IF EXISTS "{venue.db_name}" WITH (FORCE)')
    ok = report(result, args)
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "result": result}, indent=2, default=str))
    if not ok:
        raise SystemExit("FAILED: a row flipped in the steady phase, or the change was not seen exactly once")


if __name__ == "__main__":
    main()
