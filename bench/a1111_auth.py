#!/usr/bin/env python3
"""What an SD client's login costs (issue 76): HTTP Basic on the A1111 routes through a real
gunicorn, a real HTTP client on loopback and Django's real PBKDF2 hasher, for this checkout and,
with --baseline, for another checkout of the code (an older commit) started the same way, back to back.

    .venv/bin/python bench/a1111_auth.py                                 # this checkout
    .venv/bin/python bench/a1111_auth.py --baseline /work/base-auth      # and a checkout of 613e27c before it
    .venv/bin/python bench/a1111_auth.py --cache redis://127.0.0.1:6379/6   # the shared cache on Redis, as in production
    .venv/bin/python bench/a1111_auth.py --smoke                         # a few calls: the whole path, in seconds

For each checkout: a fresh SQLite database, a staff user, a client key where the code has them, a
GPU worker's presence row (so ``/sdapi/v1/options`` answers 200), then gunicorn as the Procfile
starts it (2 workers x 16 threads, gthread) on a free port, and:

1. ``GET /sdapi/v1/progress`` with Basic: the first call, then --samples calls on one kept-alive
   connection (as webuiapi's requests.Session sends them): p50 and p95; the same with the client
   key as a bearer token and with an API token (``Token``: the floor, one query), and
2. ``GET /sdapi/v1/options`` with Basic, the four taken in turn (one of each per round);
3. the web server's CPU time (gunicorn's master and workers, read with psutil before and after)
   for --polls progress polls with Basic, with the client key and with the API token: on a
   loaded machine the latencies move with the load, the CPU a call costs much less;
4. a burst of --burst wrong passwords for the staff user from one address, sent by 10 threads at
   once, each call on a new connection: the passwords hashed meanwhile, the statuses, the 429s'
   latency; during the burst, the right password from another address every 50 ms: its latency;
   then the same burst again, once the first one's checks are done (it meets only the limits):
   the same figures and the web CPU it cost; then a third of it from that address one call at a
   time (a 429's latency without the burst's own queue);

Hashes are counted by the hasher itself: the servers run a settings module the bench writes
(``config.settings`` with PASSWORD_HASHERS set to a subclass of Django's PBKDF2 hasher, same
algorithm and rounds, that appends one byte to a file for each password it hashes). Loopback
answers on all of 127.0.0.0/8, and the app takes the socket's address as the client's
(GARDEN_TRUSTED_PROXIES 0: X-Forwarded-For ignored), so each client binds its own source address
(run i uses 127.n.i.2 for the burst and 127.n.i.3 for the right password, n of this invocation's own). Nothing is written
to bench/results: the figures are printed, with the load average before and after.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness.results import load_line  # noqa: E402 (after the path is set)
from testkit.servers import free_port  # noqa: E402

USER, PASSWORD = "curator", "pw-bench-curator-7"
HASHERS = '''import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class CountingPBKDF2(PBKDF2PasswordHasher):
    """Django's PBKDF2 (same algorithm name and rounds); one byte appended to a file per password hashed."""

    def encode(self, password, salt, iterations=None):
        with open(os.environ["BENCH_HASH_COUNT_FILE"], "ab") as count:
            count.write(b".")
        return super().encode(password, salt, iterations)
'''
SETTINGS = 'from config.settings import *  # noqa: F403\n\nPASSWORD_HASHERS = ["bench_auth_hashers.CountingPBKDF2"]\n'
SETUP = f"""
from django.contrib.auth import get_user_model
from django.conf import settings
from generation.dispatch.beacon import record_presence
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user({USER!r}, password={PASSWORD!r}, is_staff=True)
record_presence(name="gpu@bench", queues=[settings.GARDEN_GPU_QUEUE])
print("token", Token.objects.create(user=user).key)
try:
    from infra import client_keys
    from infra.models import ClientKey
except ImportError:  # a checkout from before client keys
    print("")
else:
    print(client_keys.issue(ClientKey(user=user, name="bench"), by=user))
"""


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()


class Installation:
    """One checkout's server: its database, settings module, hash counter and gunicorn."""

    def __init__(self, tree: Path, work: Path, cache: str) -> None:
        self.tree, self.work = tree, work
        self.count_file = work / "hashes"
        (work / "bench_auth_hashers.py").write_text(HASHERS)
        (work / "bench_auth_settings.py").write_text(SETTINGS)
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(work),
            "DJANGO_SETTINGS_MODULE": "bench_auth_settings",
            "BENCH_HASH_COUNT_FILE": str(self.count_file),
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "CELERY_BROKER_URL": "filesystem://",
            "CACHE_URL": cache,
            "GARDEN_GENERATOR_BACKEND": "diffusers",
            "GARDEN_DIFFUSION_MODEL": "/models/sd15",  # a setting only: the options answer as with a model
            "GARDEN_WORKER_PRESENCE_SECONDS": "3600",  # the presence row written once counts for the whole run
            "GARDEN_LOG_LEVEL": "WARNING",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        }
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=self.tree, env=self.env, check=True, capture_output=True, text=True)
        return done.stdout

    def start(self) -> tuple[str, str]:
        """Migrate, make the user with an API token and a client key (empty where the code has none), serve."""
        self.manage("migrate", "--no-input", "-v", "0")
        made = self.manage("shell", "-c", SETUP).splitlines()
        token = next(line.split()[1] for line in made if line.startswith("token "))
        key = next((line for line in made if line.startswith("egk_")), "")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--worker-class", "gthread"]
        command += ["--workers", "2", "--threads", "16", "--timeout", "120"]
        with open(self.work / "gunicorn.log", "ab") as log:
            self.process = subprocess.Popen(command, cwd=self.tree, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                return token, key
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn exited: {(self.work / 'gunicorn.log').read_text()[-2000:]}") from None
                time.sleep(0.1)
        raise SystemExit("gunicorn did not start in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def hashes(self) -> int:
        return self.count_file.stat().st_size if self.count_file.exists() else 0

    def cpu_seconds(self) -> float:
        import psutil

        assert self.process is not None
        master = psutil.Process(self.process.pid)
        return sum(sum(process.cpu_times()[:2]) for process in [master, *master.children(recursive=True)])


class Client:
    """HTTP/1.1 from one source address, on a kept-alive connection or a new one per call."""

    def __init__(self, port: int, address: str = "127.0.0.1", keep_alive: bool = True) -> None:
        self.port, self.address, self.keep_alive = port, address, keep_alive
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str, authorization: str) -> tuple[int, float]:
        """(status, milliseconds) of one call."""
        if self.connection is None or not self.keep_alive:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120, source_address=(self.address, 0))
        started = time.perf_counter()
        self.connection.request("GET", path, headers={"Authorization": authorization})
        response = self.connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if not self.keep_alive or response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, elapsed


def timed(client: Client, path: str, authorization: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        status, elapsed = client.get(path, authorization)
        assert status == 200, f"{path}: {status}"
        timings.append(elapsed)
    return timings


def p(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The second octet of the loopback addresses, this invocation's own: a shared Redis keeps an earlier
# run's failure counts for GARDEN_LOGIN_COOLOFF_MINUTES.
NONCE = 1 + os.getpid() % 250


def burst(server: Installation, run: int, size: int, threads: int) -> dict:
    """``size`` wrong passwords from 127.<nonce>.<run>.2 by ``threads`` at once; the right one from 127.<nonce>.<run>.3 meanwhile."""
    wrong: list[tuple[int, float]] = []
    right: list[tuple[int, float]] = []
    start, done = threading.Barrier(threads + 1), threading.Event()

    def attacker(n: int) -> None:
        client = Client(server.port, f"127.{NONCE}.{run}.2", keep_alive=False)
        start.wait()
        for attempt in range(n, size, threads):
            wrong.append(client.get("/sdapi/v1/progress", basic(f"wrong-{attempt}")))

    def owner() -> None:
        client = Client(server.port, f"127.{NONCE}.{run}.3")
        start.wait()
        while not done.is_set():
            right.append(client.get("/sdapi/v1/progress", basic(PASSWORD)))
            time.sleep(0.05)

    before = server.hashes()
    workers = [threading.Thread(target=attacker, args=(n,)) for n in range(threads)]
    watcher = threading.Thread(target=owner)
    for thread in [*workers, watcher]:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    watcher.join()
    return {"hashes": server.hashes() - before, "wrong": wrong, "right": right}


def polls_cpu(server: Installation, client: Client, authorization: str, polls: int) -> float:
    """The web server's CPU seconds for ``polls`` progress polls."""
    before = server.cpu_seconds()
    timed(client, "/sdapi/v1/progress", authorization, polls)
    return server.cpu_seconds() - before


def measure(label: str, tree: Path, run: int, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-a1111-auth-") as work:
        server = Installation(tree, Path(work), args.cache)
        token, key = server.start()
        try:
            client = Client(server.port)
            before = server.hashes()
            f = {"label": label, "first": timed(client, "/sdapi/v1/progress", basic(PASSWORD), 1)[0]}
            # Taken in turn, one of each per round, so that a change in the machine's load falls on all alike.
            kinds = {
                "progress": ("/sdapi/v1/progress", basic(PASSWORD)),
                "keyed": ("/sdapi/v1/progress", f"Bearer {key}"),
                "token": ("/sdapi/v1/progress", f"Token {token}"),
                "options": ("/sdapi/v1/options", basic(PASSWORD)),
            }
            if not key:
                del kinds["keyed"]
            f.update({name: [] for name in ("progress", "keyed", "token", "options")})
            for _ in range(args.samples):
                for name, (path, authorization) in kinds.items():
                    f[name] += timed(client, path, authorization, 1)
            f["polls_hashed"] = server.hashes() - before
            f["cpu"] = polls_cpu(server, client, basic(PASSWORD), args.polls)
            f["cpu_key"] = polls_cpu(server, client, f"Bearer {key}", args.polls) if key else 0.0
            f["cpu_token"] = polls_cpu(server, client, f"Token {token}", args.polls)
            f.update(burst(server, run, args.burst, min(10, args.burst)))
            time.sleep(1)  # the first burst's checks are done: the same again meets only the limits
            cpu = server.cpu_seconds()
            f["again"] = burst(server, run, args.burst, min(10, args.burst))
            f["again_cpu"] = server.cpu_seconds() - cpu
            # And one at a time from that address, as a client would retry: what a 429 costs without a queue.
            lone = Client(server.port, f"127.{NONCE}.{run}.2", keep_alive=False)
            f["alone"] = [lone.get("/sdapi/v1/progress", basic(f"later-{n}")) for n in range(max(3, args.burst // 3))]
        finally:
            server.stop()
        answers = f["wrong"] + f["right"] + f["again"]["wrong"] + f["again"]["right"] + f["alone"]
        if errors := [status for status, _ in answers if status >= 500]:  # never an answer of the app: show why, and fail
            raise SystemExit(f"{len(errors)} answers 5xx; gunicorn's log:\n{(Path(work) / 'gunicorn.log').read_text()[-6000:]}")
    report(f, args)
    return f


def spread(timings: list[float]) -> str:
    timings = timings or [0.0]
    return f"p50 {statistics.median(timings):.1f} ms, p95 {p(timings, 0.95):.1f} ms, max {max(timings):.1f} ms"


def burst_line(name: str, b: dict, args) -> str:
    statuses = dict(sorted(Counter(status for status, _ in b["wrong"]).items()))
    throttled = [ms for status, ms in b["wrong"] if status == 429]
    right = dict(sorted(Counter(status for status, _ in b["right"]).items()))
    return (
        f"  {name}: {args.burst} wrong passwords from one address, {min(10, args.burst)} at once: {b['hashes']} hashed "
        f"(the right password's calls included); statuses {statuses}; the 429s {spread(throttled)}\n"
        f"    the right password from another address meanwhile: {len(b['right'])} calls {right}, {spread([ms for _, ms in b['right']])}"
    )


def report(f: dict, args) -> None:
    print(f"== {f['label']}")
    print(f"  Basic GET /sdapi/v1/progress: first {f['first']:.1f} ms; the next {len(f['progress'])}: {spread(f['progress'])}")
    if f["keyed"]:
        print(f"  Bearer client key GET /sdapi/v1/progress: {spread(f['keyed'])}")
    print(f"  Token GET /sdapi/v1/progress: {spread(f['token'])}")
    print(f"  Basic GET /sdapi/v1/options: {spread(f['options'])}")
    print(f"  passwords hashed for the {1 + 2 * args.samples} Basic calls: {f['polls_hashed']}")
    per_poll = {"Basic": f["cpu"], "client key": f["cpu_key"], "Token": f["cpu_token"]}
    print(f"  web CPU for {args.polls} progress polls: " + ", ".join(
        f"{name} {seconds:.2f} s ({seconds * 1000 / args.polls:.1f} ms a poll)" for name, seconds in per_poll.items() if seconds
    ))  # fmt: skip
    print(burst_line("burst", f, args))
    again = f["again"]
    print(burst_line("the same burst again", again, args))
    calls = max(1, len(again["wrong"]) + len(again["right"]))
    print(f"    web CPU for it: {f['again_cpu']:.2f} s ({f['again_cpu'] * 1000 / calls:.1f} ms a call)")
    alone = dict(sorted(Counter(status for status, _ in f["alone"]).items()))
    print(f"  then {len(f['alone'])} wrong passwords from that address one at a time: {alone}, {spread([ms for _, ms in f['alone']])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. a git worktree of 613e27c with .venv linked), run first")
    parser.add_argument("--cache", default="locmemcache://", help="CACHE_URL of both servers (default: per process, as `make run`)")
    parser.add_argument("--samples", type=int, default=30, help="calls timed per figure after the first")
    parser.add_argument("--polls", type=int, default=100, help="progress polls whose web CPU is measured")
    parser.add_argument("--burst", type=int, default=30, help="wrong passwords in the burst")
    parser.add_argument("--smoke", action="store_true", help="3 calls a figure, a burst of 6: the whole path in seconds (testkit/smoke.py)")
    args = parser.parse_args()
    if args.smoke:
        args.samples, args.polls, args.burst = 3, 3, 6
    print(load_line("before"))
    runs = [(f"baseline: {args.baseline}", args.baseline)] if args.baseline else []
    runs.append((f"this checkout: {ROOT}", ROOT))
    results = [measure(label, tree, run, args) for run, (label, tree) in enumerate(runs, start=1)]
    if len(results) == 2:
        old, new = results
        print("== this checkout ÷ baseline")
        for name in ("progress", "options"):
            print(f"  {name} p50: {statistics.median(new[name]) / statistics.median(old[name]):.4f}")
        print(f"  web CPU for the Basic polls: {new['cpu'] / old['cpu']:.4f}")
        print(f"  web CPU for the Basic polls ÷ the Token polls in the same run: {new['cpu'] / new['cpu_token']:.3f} (baseline "
              f"{old['cpu'] / old['cpu_token']:.1f})")  # fmt: skip
        print(f"  passwords hashed in the burst: {new['hashes']} against {old['hashes']}")
    print(load_line("after"))


if __name__ == "__main__":
    main()
