"""Serving speed under concurrency: the kiosk endpoints through real gunicorn, against the framework
floor measured by the same server in the same run.

    .venv/bin/python bench/serving.py                       # 100k serving images, 50 connections, 10 s each
    .venv/bin/python bench/serving.py --duration 5 --images 20000
    .venv/bin/python bench/serving.py --split-cores         # the web tier alone on core 0 (below)
    .venv/bin/python bench/serving.py --both                # shared cores, then split cores, in one run
    .venv/bin/python bench/serving.py --split-cores --profile --only garden   # where /garden's CPU goes
    .venv/bin/python bench/serving.py --split-cores --rounds 5 --only garden  # median of 5 ratios
    .venv/bin/python bench/serving.py --server procfile     # on the Procfile's own web line, not a plain gthread gunicorn
    .venv/bin/python bench/serving.py --smoke               # 3,000 images, 1 s per endpoint: the whole path (seconds)

What it does:
- uses (and creates) its own PostgreSQL database, ``garden_bench_serving`` on 127.0.0.1 (override
  with BENCH_SERVING_DATABASE_URL), bulk-loads 100k serving images (~190 per search key) and
  visitors with a history (bench/_data.py, COPY; reused when the sizes match) and trains the
  recommender once;
- starts gunicorn with 2 workers x 4 threads and the access log (a plain gthread server on
  config.wsgi; ``--server procfile``: the Procfile's own ``web`` line with GARDEN_WEB_THREADS=4, its
  worker class and settings file included; the Procfile's default is 16 threads) on a free
  loopback port, on PostgreSQL and Redis (the cache; database 10 of 127.0.0.1:6379, flushed;
  override with BENCH_SERVING_CACHE_URL);
- the floor is a trivial DRF POST view (bench/_serving_urls.py) served by that same process;
- drives each endpoint with wrk (Debian's `wrk`, a C load generator: it is not the bottleneck at
  these rates) with a Lua script that rotates over realistic bodies, 50 connections;
- prints requests/s, p50 and p99 per endpoint with its ratio to the floor, and for /like the likes
  answered 200 against the likes stored. Results: bench/results/serving.json;
- and where the machine's CPU went per request (web server, PostgreSQL, Redis, wrk), since on two
  shared cores throughput is CPU time per request.

Split cores (--split-cores): production runs the database and the cache on other machines, so the
web tier should be measured without them on its core. gunicorn and its workers run on core 0
(``taskset -c 0``); PostgreSQL, Redis and wrk on core 1, for the floor and every endpoint alike.
The shared PostgreSQL cluster and Redis also serve the test suite and are never pinned: the run
starts its own cluster (initdb in a temporary directory, as the postgres user when run as root;
autovacuum off as in the shared cluster) and its own Redis (no persistence) on free ports, both
under ``taskset -c 1``, loads the garden into it, and stops and deletes both at the end
(bench/_split_cores.py). BENCH_SERVING_DATABASE_URL and BENCH_SERVING_CACHE_URL are then not used.
Results: bench/results/serving-split.json (``"mode": "split-cores"``, the cores), and for each
endpoint how busy each of the two cores was during the measured run (anything else running on
the machine included), which says whether the web core was the one that ran out. The CPU per
request counts only the run's own PostgreSQL and Redis (backends that exited included).

--both reports the two figures the issue asks for from one run: the shared-cores run (every
process on every core) and then the split-cores run, both against the run's own PostgreSQL and
Redis (re-pinned between the two), so that the pinning is the only difference; it writes
serving.json (``"mode": "shared"``) and serving-split.json and prints both tables and the
requests/s and ratio to the floor side by side. Without either flag the bench runs as it always
has, on the shared servers.

--rounds N: the floor and the endpoints are measured in turn N times on the same server (the first
round primes), and each endpoint reports its round with the median ratio to the floor measured just
before it, with every round's figures (``"rounds"`` in the JSON). On this 2-core machine the split
floor moved between 794 and 1,380 requests/s over one afternoon's runs, more than the changes being
measured; a ratio taken next to its own floor, and the median of several, moves less. /like's
likes are checked in every round. The default, 1, is a single round as before.

--profile: after each endpoint's (last) measured run, one more run of it (not counted in its figures) with
py-spy sampling every gunicorn worker (bench/_profile.py; on the wrk core when split). It prints
the shares of the workers' running samples by package and by function (inclusive) and keeps the
raw stacks under bench/results/profiles/<mode>-<endpoint>/ for a flame graph.

--smoke (testkit/smoke.py): the same path at a tiny size, 1 s per endpoint and short warm-ups, on
``garden_bench_serving_smoke`` (or beside DATABASE_URL when that is PostgreSQL) and CACHE_URL's
Redis when it is Redis; no results file. It fails when any endpoint answered nothing or non-2xx.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _profile  # noqa: E402
from bench._data import ensure_database, load, search_keys  # noqa: E402 (after the path is set)
from bench._serving_report import median_rounds, report  # noqa: E402
from bench._split_cores import BACKING_CORES, WEB_CORES, Servers, check_cores, private_servers, taskset, tree_cpu_seconds  # noqa: E402
from bench._wrk import run_wrk  # noqa: E402
from testkit import smoke  # noqa: E402
from testkit.servers import procfile_web  # noqa: E402

BENCH_URL = os.environ.get("BENCH_SERVING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench_serving")
CACHE_URL = os.environ.get("BENCH_SERVING_CACHE_URL", "redis://127.0.0.1:6379/10")
PRIMER_PASSES = 10  # rounds of every search key before /garden and /gardenfromDB are measured (below)
PACE = {"warm_up_s": 3, "settle_s": 1.0}  # --smoke shortens both
SMOKE_NEEDS = ("postgresql", "redis", "wrk")  # tests/bench/test_smoke.py
SERVER_ENV = {
    "DATABASE_URL": BENCH_URL,
    "CACHE_URL": CACHE_URL,
    "DJANGO_SETTINGS_MODULE": "bench._serving_settings",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    # Every request still goes through the throttle (a cache read and write); the rate is only
    # high enough that a load generator on one address is never refused.
    "GARDEN_KIOSK_RATE": "100000000/minute",
    "GARDEN_LOG_LEVEL": "WARNING",
}


def setup_django() -> None:
    os.environ.update({key: value for key, value in SERVER_ENV.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, log: Path, cores: frozenset[int] | None = None, kind: str = "gthread") -> subprocess.Popen:
    """gunicorn, 2 processes of 4 request threads: ``gthread`` (a plain gthread gunicorn on
    config.wsgi, the baseline) or ``procfile`` (the Procfile's own ``web`` line, as ``make run`` and
    deploy's ``web`` role start it, GARDEN_WEB_THREADS=4)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if kind == "procfile":
        command = [*taskset(cores), *procfile_web(port=port, workers=2, threads=4)]
    else:
        command = [
            *taskset(cores), str(gunicorn), "config.wsgi", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--access-logfile", "-", "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        ]  # fmt: skip
    env = {**os.environ, **SERVER_ENV, "GARDEN_WEB_THREADS": "4", "PATH": f"{gunicorn.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with open(log, "w") as handle:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/bench/floor", data=b"{}", method="POST")
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"gunicorn did not start; see {log}")


def cpu_seconds(server_pid: int, servers: Servers | None = None) -> dict[str, float]:
    """CPU seconds used so far by the web server's processes, PostgreSQL, Redis and wrk (finished runs).

    With the run's own servers, only theirs are counted (not the shared ones the test suite uses)."""
    import psutil

    web = {server_pid, *(child.pid for child in psutil.Process(server_pid).children(recursive=True))}
    used = {"web": 0.0, "postgresql": 0.0, "redis": 0.0}
    for process in psutil.process_iter(["pid", "name", "cpu_times"]):
        if servers and process.info["pid"] not in web:
            continue
        times = process.info["cpu_times"]
        if times is None:
            continue
        role = "web" if process.info["pid"] in web else next((r for r in ("postgres", "redis") if process.info["name"].startswith(r)), None)
        if role:
            used["postgresql" if role == "postgres" else role] += times.user + times.system
    if servers:
        used["postgresql"] = tree_cpu_seconds(servers.postgres_pid)
        used["redis"] = tree_cpu_seconds(servers.redis_pid)
    finished = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs (the server is still running)
    used["wrk"] = finished.ru_utime + finished.ru_stime
    return used


def bodies_for(kind: str, *, rng: random.Random, visitors: list[str], count: int = 4000) -> list[str]:
    from garden.models import Image

    keys = search_keys()
    if kind == "floor":
        return ['{"emotion": "calm"}']
    if kind in ("gardenfromDB", "garden"):
        chosen = [rng.choice(keys) for _ in range(count)]
        return [
            json.dumps({"id": rng.choice(visitors), "emotion": f"{e}/{f}" if f else e, "generation": "adult", "gender": "Female"})
            for e, f in chosen
        ]
    # likes: a visitor liked one of the three images on screen, all of one search key
    by_key: dict[str, list[str]] = {}
    for key, search_key in Image.objects.serving().filter(orientation="h").values_list("key", "search_key").iterator():
        by_key.setdefault(search_key, []).append(key)
    groups = [group for group in by_key.values() if len(group) >= 3]
    out = []
    for _ in range(count):
        shown = rng.sample(rng.choice(groups), 3)
        out.append(json.dumps({"id": rng.choice(visitors), "itemId": rng.choice(shown), "impression": shown}))
    return out


def measure(mode: str, *, args: argparse.Namespace, targets: list[tuple[str, str]], visitors: list[str], servers: Servers | None) -> dict:
    """``--rounds`` runs of the floor and each endpoint in turn on one server; mode "split-cores" pins
    gunicorn to WEB_CORES, wrk to BACKING_CORES."""
    import redis

    split = mode == "split-cores"
    web_cores, wrk_cores = (WEB_CORES, BACKING_CORES) if split else (None, None)
    if servers:  # the run's own PostgreSQL and Redis: on their core when split, on every core otherwise
        servers.pin(BACKING_CORES if split else os.sched_getaffinity(0))
    redis.Redis.from_url(SERVER_ENV["CACHE_URL"]).flushdb()
    result: dict = {"mode": mode, "server": args.server}
    if split:
        result["cores"] = {"web": sorted(WEB_CORES), "postgresql, redis, wrk": sorted(BACKING_CORES)}
    rng = random.Random(5)
    work = Path(tempfile.mkdtemp(prefix="garden-bench-serving-"))
    port = free_port()
    server = start_server(port, work / "gunicorn.log", web_cores, args.server)
    rounds: dict[str, list[dict]] = {name: [] for name, _ in targets}
    try:
        bodies = {name: bodies_for(name, rng=rng, visitors=visitors) for name, _ in targets}
        for turn in range(args.rounds):
            for name, path in targets:
                common = {"port": port, "path": path, "bodies": bodies[name], "connections": args.connections, "threads": args.threads}
                common.update(work=work, cores=wrk_cores)
                if turn == 0 and name in ("gardenfromDB", "garden"):
                    prime(common)
                row = measure_endpoint(name, common=common, duration=args.duration, server=server, servers=servers, split=split)
                rounds[name].append(row)
                if args.profile and turn == args.rounds - 1:
                    row["profile"] = profile_endpoint(name, server=server, common=common, args=args, mode=mode)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    result.update(median_rounds(rounds, targets))
    return result


def prime(common: dict) -> None:
    """Steady state: every search key answered at least once per web process (each keeps its own
    rendered entries), as on a kiosk network that has been up for a while. wrk's connections are
    spread unevenly over the processes (one may get a third), so the keys go round PRIMER_PASSES
    times: a key misses that process after all of them with a chance of (2/3)^10, under 2 %.
    Counted, not timed (on a slow or busy machine a fixed duration sent too few), and each on a new
    connection: on kept-alive ones a key's turn kept falling on the same connection, so on the same
    process, and the other process went on loading the key's candidates in the measured run
    (py-spy: 5-10 % of /garden's samples)."""
    primers = [json.dumps({"emotion": f"{e}/{f}" if f else e}) for e, f in search_keys()]
    sent = 0
    while sent < PRIMER_PASSES * len(primers):
        seconds = max(PACE["warm_up_s"], round(PRIMER_PASSES * len(primers) / 250))
        sent += run_wrk(duration=seconds, close=True, **{**common, "bodies": primers})["requests"]


def measure_endpoint(name: str, *, common: dict, duration: float, server: subprocess.Popen, servers: Servers | None, split: bool) -> dict:
    """One measured run of one endpoint after a warm-up: wrk's figures, the CPU per request by role,
    how busy each core was (split), and for /like the likes stored."""
    import psutil
    from django.db import connection

    from recommend.models import Interaction

    run_wrk(duration=PACE["warm_up_s"], **common)  # warm-up: connections, per-process caches, the loaded model
    time.sleep(PACE["settle_s"])  # let the warm-up's last requests finish before counting
    clicks_before = Interaction.objects.filter(event_type="click").count()
    cpu_before, cores_before = cpu_seconds(server.pid, servers), psutil.cpu_times(percpu=True)
    row = run_wrk(duration=duration, **common)
    cpu_after, cores_after = cpu_seconds(server.pid, servers), psutil.cpu_times(percpu=True)
    requests = max(row["requests"], 1)
    row["cpu_ms_per_request"] = {role: round((cpu_after[role] - cpu_before[role]) * 1000 / requests, 3) for role in cpu_after}
    if split:  # whether the web core was the one that ran out (anything else on the machine included)
        busy = {}
        for core in sorted(WEB_CORES | BACKING_CORES):
            before, after = cores_before[core], cores_after[core]
            idle = (after.idle + after.iowait) - (before.idle + before.iowait)
            total = sum(after) - sum(before)
            busy[str(core)] = round(100 * (1 - idle / total), 1) if total else 0.0
        row["core_busy_percent"] = busy
    time.sleep(PACE["settle_s"])
    if name == "like":
        # Every like answered 200 must be stored exactly once (warm-up likes are excluded).
        row["stored"] = Interaction.objects.filter(event_type="click").count() - clicks_before
    connection.close()
    return row


def profile_endpoint(name: str, *, server: subprocess.Popen, common: dict, args: argparse.Namespace, mode: str) -> dict:
    """One more run of the endpoint, not counted in its figures, with py-spy sampling every worker."""
    import psutil

    workers = [child.pid for child in psutil.Process(server.pid).children()]
    out = ROOT / "bench" / "results" / "profiles" / f"{mode}-{name}"
    shutil.rmtree(out, ignore_errors=True)
    samplers = _profile.start(workers, seconds=args.duration, out=out, cores=taskset(common["cores"]))
    run_wrk(duration=args.duration, **common)
    summary = _profile.finish(samplers)
    _profile.report(f"{name} ({mode})", summary)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (after a 3 s warm-up)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", nargs="*", choices=["gardenfromDB", "garden", "like"], help="endpoints to drive (the floor always runs)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="the floor and the endpoints measured in turn this many times; each endpoint's median ratio is reported",
    )
    parser.add_argument(
        "--server", choices=("gthread", "procfile"), default="gthread",
        help="gthread: a plain gthread gunicorn on config.wsgi (the figures in docs); procfile: the Procfile's own web line",
    )  # fmt: skip
    parser.add_argument("--reload", action="store_true")
    parser.add_argument(
        "--split-cores", action="store_true", help="gunicorn on core 0; the run's own PostgreSQL and Redis, and wrk, on core 1"
    )
    parser.add_argument("--both", action="store_true", help="shared cores, then split cores, on the run's own PostgreSQL and Redis")
    parser.add_argument(
        "--profile", action="store_true", help="after each endpoint's run, one more with py-spy on the workers: where the CPU goes"
    )
    parser.add_argument("--smoke", action="store_true", help="3,000 images, 1 s per endpoint: the whole path in seconds, no results file")
    args = parser.parse_args()
    if args.smoke:
        global PRIMER_PASSES
        args.images, args.interactions, args.duration, args.connections, args.threads, args.rounds = 3000, 6000, 1, 8, 1, 1
        PRIMER_PASSES, PACE["warm_up_s"], PACE["settle_s"] = 1, 1, 0.2
        default = BENCH_URL.rsplit("/", 1)[0] + "/garden_bench_serving_smoke"
        SERVER_ENV["DATABASE_URL"] = smoke.database_url("serving", default, "BENCH_SERVING_DATABASE_URL")
        SERVER_ENV["CACHE_URL"] = smoke.cache_url(CACHE_URL, "BENCH_SERVING_CACHE_URL")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    modes = ["shared", "split-cores"] if args.both else ["split-cores"] if args.split_cores else ["shared"]
    if "split-cores" in modes:
        check_cores()
    with contextlib.ExitStack() as stack:
        servers = None
        if "split-cores" in modes:
            servers = stack.enter_context(private_servers(BACKING_CORES))
            SERVER_ENV.update(DATABASE_URL=servers.database_url, CACHE_URL=servers.cache_url)
        return run_modes(modes, args, servers)


def run_modes(modes: list[str], args: argparse.Namespace, servers: Servers | None) -> int:
    ensure_database(SERVER_ENV["DATABASE_URL"])
    setup_django()
    from django.db import connection

    from garden.models import Image
    from recommend import training
    from recommend.models import Interaction

    common: dict = {
        "images": args.images,
        "connections": args.connections,
        "duration_s": args.duration,
        "database": "postgresql",
        "cache": "redis",
    }
    if servers:
        common["servers"] = "the run's own PostgreSQL cluster and Redis"
    if args.reload or Image.objects.all_pictures().count() != args.images or Interaction.objects.count() < args.interactions:
        common["load_seconds"] = load(args.images, args.interactions)["load_seconds"]
    training.rebuild(with_als=False)
    visitors = [str(v) for v in Interaction.objects.values_list("visitor_id", flat=True).distinct()[:2000]]
    connection.close()

    targets = [("floor", "/bench/floor"), ("gardenfromDB", "/gardenfromDB"), ("garden", "/garden"), ("like", "/like")]
    targets = [target for target in targets if target[0] == "floor" or not args.only or target[0] in args.only]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    results, lost = {}, 0
    for mode in modes:
        results[mode] = {**common, **measure(mode, args=args, targets=targets, visitors=visitors, servers=servers)}
        if not args.smoke:
            name = ("serving-split" if mode == "split-cores" else "serving") + ("" if args.server == "gthread" else f"-{args.server}")
            (out / f"{name}.json").write_text(json.dumps(results[mode], indent=2))
        if len(modes) > 1:
            print(f"\n== {mode} ==")
        lost += report(results[mode], targets)
    if len(modes) > 1:
        print("\nreq/s and x floor, shared cores -> split cores:")
        for name, _ in targets:
            shared, split = results["shared"][name], results["split-cores"][name]
            ratios = f"{shared.get('ratio_to_floor', 1.0):.3f} -> {split.get('ratio_to_floor', 1.0):.3f}"
            print(f"{name:<14}{shared['rps']:>8.0f} -> {split['rps']:<8.0f}{ratios}")
    failed = [
        f"{mode} {name}"
        for mode in modes
        for name, _ in targets
        if results[mode][name]["non2xx"] or not results[mode][name]["answered_2xx"]
    ]
    if args.smoke and failed:
        print(f"smoke: no answers or non-2xx answers from {', '.join(failed)}")
    return 1 if lost or (args.smoke and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
