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

import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import Venue, postgres_server
from bench.library_scan import write_checkpoint
from testkit import smoke

SMOKE_NEEDS = ("postgresql", "redis")
HOSTS = ("a", "b")
FILES = {"a": ("both", "only-a", "stored"), "b": ("both", "only-b")}
FOLDERS = {"a": ("folder-a", "folder-both"), "b": ("folder-both",)}
SEEDS = {"both": 1, "only-a": 2, "only-b": 3, "stored": 4}  # one file's bytes on every host that has it
LOST_ONCE = "folder-a"  # the change: on host A only, removed and taken out of the store
KEPT = (("a", "only-a.safetensors"), ("b", "folder-both"))  # the change's removals that keep their rows
SCANNED = "model library scanned"  # library.services.entries.scan's log line: one per scan
FAILED = "following the models folder failed"  # the follower's warning (a look that raised)


def parse_args():
    made = parser(__doc__)
    made.add_argument("--minutes", type=float, default=10.0, help="the steady phase")
    made.add_argument("--interval", type=float, default=2.0, help="GARDEN_LIBRARY_SCAN_SECONDS")
    made.add_argument("--sample", type=float, default=0.5, help="seconds between two reads of every row")
    made.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    made.add_argument("--postgres", default=postgres_server(), help="PostgreSQL server (a database is made there and dropped)")
    made.add_argument("--db-prefix", default="garden_bench_hosts_", help="the made database's name starts so")
    made.add_argument(
        "--redis",
        default=smoke.cache_url("redis://127.0.0.1:6379/12", "BENCH_LIBRARY_HOSTS_REDIS"),
        help="the workers' broker and shared cache (keys and queues named per run); default CACHE_URL's Redis, else db 12",
    )
    made.add_argument("--no-churn", action="store_true", help="no churn.txt: a look scans only when a model changed")
    args = made.parse_args()
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


def host(venue: Venue, name: str) -> str:
    """A host's GARDEN_HOST_NAME: named per run, as the Redis they share may hold another run's."""
    return f"host-{name}-{venue.tag}"


class Sampler:
    """Every row's (present, usable) and each host's last look, read every ``every`` seconds."""

    def __init__(self, venue: Venue, args) -> None:
        self.venue, self.args, self.every = venue, args, args.sample
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
        if self.args.no_churn or time.monotonic() < self.next_churn:
            return
        self.churned += 1
        for name in HOSTS:
            (self.venue.work / name / "churn.txt").write_text(f"{self.churned}\n")
        self.next_churn = time.monotonic() + self.args.interval

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


def scans(venue: Venue) -> dict[str, int]:
    return {host(venue, name): venue.log(host(venue, name)).read_text(errors="replace").count(SCANNED) for name in HOSTS}


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

    venue.manage("scan_models", host=host(venue, "a"))  # host A's setup scan: its files go into the store
    (venue.work / "a" / "stored.safetensors").unlink()  # now only the store holds it
    for name in HOSTS:  # the Procfile's worker, on a queue of its own (it paints nothing: it follows its folder)
        venue.start_worker(host(venue, name), queue=venue.queue("library-hosts"))
    sampler = Sampler(venue, args)
    try:
        venue.wait_ready([host(venue, name) for name in HOSTS], timeout=180)
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
        for folder_name, name in KEPT:
            target = venue.work / folder_name / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        removed = time.monotonic()
        sampler.run(max(10.0, 5 * args.interval), until=lambda s: not s.state[LOST_ONCE][0])
        lost_after = round(time.monotonic() - removed, 2)
        sampler.run(3 * args.interval)  # a row that came back, or another that went, would show here
        change = sampler.phase()
        change["recorded_changes"] = recorded_changes(changed_since)
        change["lost_seen_after_s"] = lost_after
        change["states"] = dict(sorted(sampler.state.items()))
        errors = {host(venue, name): venue.log(host(venue, name)).read_text(errors="replace").count(FAILED) for name in HOSTS}
    finally:
        venue.stop_workers()
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
    machine = results.machine()
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as folder:
        work = Path(folder)
        make_folders(work)
        database = f"{args.postgres}/{args.db_prefix}{uuid.uuid4().hex[:8]}" if args.database == "postgresql" else "sqlite"
        if args.smoke and args.database == "postgresql":  # named as tests/bench/test_smoke.py drops it, even after a timeout
            database = smoke.database_url("library_hosts", "", "") or database
        settings = {"GARDEN_LIBRARY_SCAN_SECONDS": str(args.interval), "GARDEN_WORKER_PRESENCE_SECONDS": "2", "GARDEN_LOG_LEVEL": "INFO"}
        with Venue(work, database=database, broker=args.redis, cache=True, store="file", **settings) as venue:
            venue.folders = {host(venue, name): work / name for name in HOSTS}
            venue.join()
            result = run(venue, args)
    ok = report(result, args)
    results.write(args.json, "library_hosts", vars(args) | {"json": str(args.json)}, result, machine)
    if not ok:
        raise SystemExit("FAILED: a row flipped in the steady phase, or the change was not seen exactly once")


if __name__ == "__main__":
    main()
