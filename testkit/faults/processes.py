"""The fault suite's processes (testkit/faults/): the parts it starts, kills and restarts by their
own process groups (a redis-server, gunicorn, a Celery worker, a PostgreSQL cluster of its own run
as a non-root user because PostgreSQL refuses root), and the small waits and probes around them."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class HarnessError(RuntimeError):
    """A part of the installation did not start or stop in time (not an assertion of the suite)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, seconds: float, what: str, every: float = 0.2) -> float:
    """Poll ``check`` until it is true; the seconds it took, or HarnessError after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if check():
                return time.monotonic() - started
        except Exception:  # a server still starting refuses connections
            pass
        time.sleep(every)
    raise HarnessError(f"{what}: not within {seconds:.0f} s")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def which(name: str) -> str | None:
    """A server binary: the venv's, the PATH's, or PostgreSQL's versioned bin folders."""
    for candidate in (BIN / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    return versions[-1] if versions else None


def procfile_argv(name: str, env: dict) -> list[str]:
    """The Procfile's ``name`` line as an argv: ``${VAR:-default}`` from ``env``, the venv's binary."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    expanded = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: env.get(match[1], match[2]), line.split(":", 1)[1])
    argv = shlex.split(expanded)
    return [which(argv[0]) or argv[0], *argv[1:]]


def missing_tools() -> list[str]:
    needed = ["redis-server", "initdb", "pg_ctl", "moto_server"] + (["setpriv"] if os.geteuid() == 0 else [])  # root: PostgreSQL as nobody
    return [name for name in needed if which(name) is None]


# --- processes started here ------------------------------------------------------------------------


class Part:
    """A server process of ours, in a session (process group) of its own: killing it kills its
    children too (gunicorn's workers, Celery's pool), and nothing else."""

    def __init__(self, name: str, argv: list[str], *, env: dict, log: Path, ready: Callable[[], bool], ready_seconds: float = 60):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.ready, self.ready_seconds = ready, ready_seconds
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.log_offset = 0

    def since_start(self) -> str:
        """What the process logged since its last start."""
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> float:
        """Start and wait until it answers; the seconds that took."""
        if self.running:
            raise HarnessError(f"{self.name} is already running")
        self.starts += 1
        with open(self.log, "ab") as log:
            self.log_offset = log.tell()
            log.write(f"\n--- start #{self.starts} at {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        started = time.monotonic()
        while time.monotonic() - started < self.ready_seconds:
            if self.process.poll() is not None:
                raise HarnessError(f"{self.name} exited with {self.process.returncode}:\n{tail(self.log)}")
            try:
                if self.ready():
                    return time.monotonic() - started
            except Exception:
                pass
            time.sleep(0.2)
        self.kill()
        raise HarnessError(f"{self.name} did not get ready in {self.ready_seconds:.0f} s:\n{tail(self.log)}")

    def kill(self, sig: int = signal.SIGKILL, *, seconds: float = 20) -> None:
        """Signal the whole process group, wait for the leader, then make sure the group is gone."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Children that outlived a graceful leader (a pool process) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process = None


def redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status < 500


class Postgres:
    """A cluster of our own: ``initdb`` in a temporary folder owned by a non-root user, listening on
    127.0.0.1 and a free port (socket in the folder). Stopped with ``pg_ctl stop -m immediate``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = free_port()
        self.user = "garden"
        self.url = f"postgres://{self.user}@127.0.0.1:{self.port}/garden"
        self.os_user = self._os_user()

    @staticmethod
    def _os_user() -> pwd.struct_passwd | None:
        """Who runs the cluster: this user unless it is root; then GARDEN_FAULTS_PG_USER or nobody."""
        if os.geteuid() != 0:
            return None
        return pwd.getpwnam(os.environ.get("GARDEN_FAULTS_PG_USER", "nobody"))

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [which(argv[0]) or argv[0], *argv[1:]]
        if self.os_user is not None:
            user = self.os_user
            command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder), "LC_ALL": "C", "LANG": "C"}
        result = subprocess.run(command, cwd=self.folder, env=env, capture_output=True, text=True, timeout=timeout, start_new_session=True)
        if result.returncode:
            raise HarnessError(f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stdout}\n{result.stderr}\n{tail(self.log)}")
        return result

    def init(self) -> None:
        if self.os_user is not None:
            os.chown(self.folder, self.os_user.pw_uid, self.os_user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")

    def start(self) -> float:
        started = time.monotonic()
        # fsync and full-page writes only matter when the machine crashes; commits stay synchronous,
        # so a commit answered before `pg_ctl stop -m immediate` survives it, as in production.
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c full_page_writes=off -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start", timeout=90)
        wait_until(self.accepts, seconds=30, what="PostgreSQL accepting connections")
        return time.monotonic() - started

    def accepts(self) -> bool:
        import psycopg

        with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def kill_leftovers(self) -> None:
        """Teardown: stop the cluster if pg_ctl left it (our own postmaster's pid only)."""
        if not self.running:
            return
        try:
            self.stop()
        except Exception:
            with contextlib.suppress(Exception):
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}"
