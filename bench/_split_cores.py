"""For bench/serving.py --split-cores: the web server on one core, PostgreSQL, Redis and wrk on the
other, as production runs the database on other machines.

The shared PostgreSQL cluster and Redis also serve the test suite, so they are never pinned: the run
starts its own cluster (initdb in a temporary directory, as the postgres user when run as root) and
its own Redis on free loopback ports, and removes both at the end.

Not a benchmark itself (the leading underscore keeps bench/run_all.py from running it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

WEB_CORES = frozenset({0})  # gunicorn and its workers
BACKING_CORES = frozenset({1})  # PostgreSQL, Redis, wrk


def check_cores() -> None:
    allowed = os.sched_getaffinity(0)
    if not (WEB_CORES | BACKING_CORES).issubset(allowed):
        raise SystemExit(f"--split-cores needs cores {sorted(WEB_CORES | BACKING_CORES)}; this process may use {sorted(allowed)}")


def taskset(cores: frozenset[int] | None) -> list[str]:
    """The command prefix that runs a program on these cores (nothing when None)."""
    return ["taskset", "-c", ",".join(str(core) for core in sorted(cores))] if cores else []


def pin(pid: int, cores: set[int] | frozenset[int]) -> None:
    """Move a process, its children and all their threads onto these cores (children forked later inherit it)."""
    import psutil

    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            for thread in process.threads():
                os.sched_setaffinity(thread.id, cores)
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children, exited ones included (reaped by it: PostgreSQL's backends)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + (times.children_user + times.children_system if process is root else 0.0)
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Servers:
    database_url: str
    cache_url: str
    postgres_pid: int
    redis_pid: int

    def pin(self, cores: set[int] | frozenset[int]) -> None:
        pin(self.postgres_pid, cores)
        pin(self.redis_pid, cores)


@contextmanager
def private_servers(cores: frozenset[int]) -> Iterator[Servers]:
    """A PostgreSQL cluster and a Redis of this run's own, started on these cores; stopped and deleted on exit."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parent.parent.name))
    if not versions:
        raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    bindir = Path(versions[-1]).parent
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root
    work = Path(tempfile.mkdtemp(prefix="garden-bench-servers-"))
    if as_owner:
        shutil.chown(work, "postgres")
    data = work / "pgdata"
    pg_port, redis_port = _free_port(), _free_port()
    redis = None
    started_postgres = False

    def run(command: list) -> None:
        done = subprocess.run(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stdout.strip()}\n(log: {work / 'postgres.log'})")

    try:
        run([*as_owner, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        # Settings as the shared cluster's (Debian's defaults, autovacuum off), but on its own port and socket directory.
        options = f"-p {pg_port} -k {work} -c listen_addresses=127.0.0.1 -c autovacuum=off"
        started_postgres = True
        command = [*taskset(cores), *as_owner, bindir / "pg_ctl", "-D", data, "-l", work / "postgres.log", "-o", options, "-w", "start"]
        run(command)
        postgres_pid = int((data / "postmaster.pid").read_text().split()[0])
        with open(work / "redis.log", "w") as log:
            redis_command = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            redis = subprocess.Popen([*taskset(cores), *redis_command, "--dir", str(work)], stdout=log, stderr=subprocess.STDOUT)
        import redis as redis_client

        deadline = time.monotonic() + 30
        while True:
            try:
                redis_client.Redis(port=redis_port).ping()
                break
            except redis_client.ConnectionError:
                if time.monotonic() > deadline or redis.poll() is not None:
                    raise SystemExit(f"redis-server did not start; see {work / 'redis.log'}") from None
                time.sleep(0.1)
        yield Servers(
            database_url=f"postgres://postgres@127.0.0.1:{pg_port}/garden_bench_serving",
            cache_url=f"redis://127.0.0.1:{redis_port}/10",
            postgres_pid=postgres_pid,
            redis_pid=redis.pid,
        )
    finally:
        if redis is not None:
            redis.terminate()
            try:
                redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis.kill()
        if started_postgres and (data / "postmaster.pid").exists():
            subprocess.run([*as_owner, bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
