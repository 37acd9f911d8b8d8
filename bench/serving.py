"""Serving speed under concurrency: the kiosk endpoints through real gunicorn, against the framework
floor measured by the same server in the same run.

    .venv/bin/python bench/serving.py                       # 100k serving images, 50 connections, 10 s each
    .venv/bin/python bench/serving.py --duration 5 --images 20000

What it does:
- uses (and creates) its own PostgreSQL database, ``garden_bench_serving`` on 127.0.0.1 (override
  with BENCH_SERVING_DATABASE_URL), bulk-loads 100k serving images (~190 per search key) and
  visitors with a history (bench/_data.py, COPY; reused when the sizes match) and trains the
  recommender once;
- starts gunicorn with the Procfile's flags (2 workers x 4 threads, access log) on a free
  loopback port, on PostgreSQL and Redis (the cache; database 10 of 127.0.0.1:6379, flushed);
- the floor is a trivial DRF POST view (bench/_serving_urls.py) served by that same process;
- drives each endpoint with wrk (Debian's `wrk`, a C load generator: it is not the bottleneck at
  these rates) with a Lua script that rotates over realistic bodies, 50 connections;
- prints requests/s, p50 and p99 per endpoint with its ratio to the floor, and for /like the likes
  answered 200 against the likes stored. Results: bench/results/serving.json;
- and where the machine's CPU went per request (web server, PostgreSQL, Redis, wrk), since on two
  shared cores throughput is CPU time per request.
"""

from __future__ import annotations

import argparse
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
from bench._data import ensure_database, load, search_keys  # noqa: E402 (after the path is set)

BENCH_URL = os.environ.get("BENCH_SERVING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/garden_bench_serving")
CACHE_URL = os.environ.get("BENCH_SERVING_CACHE_URL", "redis://127.0.0.1:6379/10")
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

LUA = """
local bodies = {%(bodies)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


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


def start_server(port: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
        "--access-logfile", "-", "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
    ]  # fmt: skip
    with open(log, "w") as handle:
        server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **SERVER_ENV}, stdout=handle, stderr=subprocess.STDOUT)
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


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the web server's processes, PostgreSQL, Redis and wrk (finished runs)."""
    import psutil

    web = {server_pid, *(child.pid for child in psutil.Process(server_pid).children(recursive=True))}
    used = {"web": 0.0, "postgresql": 0.0, "redis": 0.0}
    for process in psutil.process_iter(["pid", "name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        role = "web" if process.info["pid"] in web else next((r for r in ("postgres", "redis") if process.info["name"].startswith(r)), None)
        if role:
            used["postgresql" if role == "postgres" else role] += times.user + times.system
    finished = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs (the server is still running)
    used["wrk"] = finished.ru_utime + finished.ru_stime
    return used


def run_wrk(*, port: int, path: str, bodies: list[str], duration: float, connections: int, threads: int, work: Path) -> dict:
    script = work / f"{path.strip('/').replace('/', '_') or 'root'}.lua"
    quoted = ",".join(f"[==[{body}]==]" for body in bodies)
    script.write_text(LUA % {"bodies": quoted, "path": path})
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "non2xx": raw["non2xx"],
        "socket_errors": raw["socket_errors"],
        "answered_2xx": raw["requests"] - raw["non2xx"],
    }


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
    for key, search_key in Image.objects.filter(status="serving", orientation="h").values_list("key", "search_key").iterator():
        by_key.setdefault(search_key, []).append(key)
    groups = [group for group in by_key.values() if len(group) >= 3]
    out = []
    for _ in range(count):
        shown = rng.sample(rng.choice(groups), 3)
        out.append(json.dumps({"id": rng.choice(visitors), "itemId": rng.choice(shown), "impression": shown}))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (after a 3 s warm-up)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", nargs="*", choices=["gardenfromDB", "garden", "like"], help="endpoints to drive (the floor always runs)")
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")

    ensure_database(BENCH_URL)
    setup_django()
    import redis
    from django.db import connection

    from garden.models import Image
    from recommend import training
    from recommend.models import Interaction

    result: dict = {
        "images": args.images,
        "connections": args.connections,
        "duration_s": args.duration,
        "database": "postgresql",
        "cache": "redis",
    }
    if args.reload or Image.objects.count() != args.images or Interaction.objects.count() < args.interactions:
        result["load_seconds"] = load(args.images, args.interactions)["load_seconds"]
    training.rebuild(with_als=False)
    redis.Redis.from_url(CACHE_URL).flushdb()
    visitors = [str(v) for v in Interaction.objects.values_list("visitor_id", flat=True).distinct()[:2000]]
    connection.close()

    rng = random.Random(5)
    work = Path(tempfile.mkdtemp(prefix="garden-bench-serving-"))
    port = free_port()
    server = start_server(port, work / "gunicorn.log")
    targets = [("floor", "/bench/floor"), ("gardenfromDB", "/gardenfromDB"), ("garden", "/garden"), ("like", "/like")]
    targets = [target for target in targets if target[0] == "floor" or not args.only or target[0] in args.only]
    try:
        for name, path in targets:
            bodies = bodies_for(name, rng=rng, visitors=visitors)
            common = {"port": port, "path": path, "bodies": bodies, "connections": args.connections, "threads": args.threads, "work": work}
            if name in ("gardenfromDB", "garden"):
                # Steady state: every search key answered at least once per web process (each keeps
                # its own rendered entries), as on a kiosk network that has been up for a while.
                primers = [json.dumps({"emotion": f"{e}/{f}" if f else e}) for e, f in search_keys()]
                run_wrk(duration=max(3, round(len(primers) / 150)), **{**common, "bodies": primers})
            run_wrk(duration=3, **common)  # warm-up: connections, per-process caches, the loaded model
            time.sleep(1)  # let the warm-up's last requests finish before counting
            clicks_before = Interaction.objects.filter(event_type="click").count()
            cpu_before = cpu_seconds(server.pid)
            result[name] = run_wrk(duration=args.duration, **common)
            cpu_after = cpu_seconds(server.pid)
            requests = max(result[name]["requests"], 1)
            used = {role: (cpu_after[role] - cpu_before[role]) * 1000 / requests for role in cpu_after}
            result[name]["cpu_ms_per_request"] = {role: round(ms, 3) for role, ms in used.items()}
            time.sleep(1)
            if name == "like":
                # Every like answered 200 must be stored exactly once (warm-up likes are excluded).
                result[name]["stored"] = Interaction.objects.filter(event_type="click").count() - clicks_before
            connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    floor = result["floor"]["rps"]
    for name, _ in targets[1:]:
        result[name]["ratio_to_floor"] = round(result[name]["rps"] / floor, 3)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "serving.json").write_text(json.dumps(result, indent=2))
    print(f"{'endpoint':<14}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x floor':>9}  notes")
    for name, _ in targets:
        row = result[name]
        notes = f"non-2xx {row['non2xx']}, socket errors {row['socket_errors']}"
        if name == "like":
            notes += f"; answered 200: {row['answered_2xx']}, stored: {row['stored']}"
        ratio = row.get("ratio_to_floor", 1.0)
        print(f"{name:<14}{row['rps']:>10.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{ratio:>9.3f}  {notes}")
    print("\nCPU ms per request (all processes of each role, during the measured run):")
    for name, _ in targets:
        print(f"{name:<14}" + ", ".join(f"{role} {ms:.2f}" for role, ms in result[name]["cpu_ms_per_request"].items()))
    # More stored than answered is expected: requests still in flight when wrk stops are finished
    # by the server but never counted as answered. Fewer stored than answered would be a loss.
    if "like" not in result:
        return 0
    lost = max(0, result["like"]["answered_2xx"] - result["like"]["stored"])
    if lost:
        print(f"LOST LIKES: {lost} answered 200 but not stored")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
