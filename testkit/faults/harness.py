"""The fault suite's own installation: servers it starts, kills and restarts, and a kiosk client.

Everything runs on loopback ports of its own and under one temporary folder: a redis-server
(cache on db 1, Celery broker on db 0; nothing kept on disk, like production Redis here), a
PostgreSQL cluster (``initdb`` in the folder, run as a non-root user because PostgreSQL refuses
root), a moto S3 server, then the app as the Procfile runs it: gunicorn (2 workers × 4 threads)
and one Celery worker (queues default and gpu, prefork, concurrency 1), no beat. The machine's
shared PostgreSQL and Redis are never touched: only the processes started here are signalled,
by the process groups they were started in.

``tests/faults/test_faults.py`` asserts on what the scenarios at the end of this module record;
``bench/faults.py`` prints the same records as a table.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from testkit.faults.proxy import CommitCutter

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUCKET = "garden-faults"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
SEARCHES = ["happy/spring,sunny,day", "calm", "sad/autumn,rainy,sunset", "fear", "surprised/summer,sunny,day"]
# Shortened so that recovery fits a test run (docs/generation.md#settings, docs/settings.md);
# settings an older checkout does not know are ignored by it. The lease outlasts a worker's restart
# (about 10 s here), so the sweep a starting worker runs finds the killed job still leased: what
# resumes it is the periodic sweep, as without beat in production.
FAST_SETTINGS = {
    "GARDEN_JOB_LEASE_SECONDS": "20",
    "GARDEN_JOB_HEARTBEAT_SECONDS": "1",
    "GARDEN_JOB_SWEEP_SECONDS": "3",
    "GARDEN_JOB_REQUEUE_AFTER_SECONDS": "4",
    "GARDEN_JOB_MAX_ATTEMPTS": "3",
    "GARDEN_CACHE_BREAKER_SECONDS": "2",
    # A hung job (progress stopped, heartbeat on): 8 s + 0.25 s per step of the whole job.
    "GARDEN_JOB_HUNG_BASE_SECONDS": "8",
    "GARDEN_JOB_HUNG_SECONDS_PER_STEP": "0.25",
}


# collectstatic into GARDEN_STATIC_ROOT with the manifest (hashed names) but no compression.
COLLECT_UNCOMPRESSED = (
    "from django.conf import settings; from django.core.management import call_command; "
    "from django.test.utils import override_settings; "
    "plain = {'BACKEND': 'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'}; "
    "override_settings(STORAGES={**settings.STORAGES, 'staticfiles': plain})(call_command)('collectstatic', '--no-input', '-v', '0')"
)


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


# --- the installation ----------------------------------------------------------------------------------


@dataclass
class Stack:
    """The running installation: its parts, the environment they share, and helpers to look inside."""

    folder: Path
    env: dict
    redis: Part
    postgres: Postgres
    moto: Part
    web: Part
    worker: Part
    base: str
    s3_endpoint: str
    token: str = ""
    db_proxy: CommitCutter | None = None  # the web processes reach PostgreSQL through it (testkit/faults/proxy.py)
    keys: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds each set-up step took

    # --- looking inside --------------------------------------------------------------------------
    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")  # fmt: skip

    def s3_keys(self, prefix: str = "") -> set[str]:
        client, found, token = self.s3(), set(), None
        while True:
            kwargs = {"Bucket": BUCKET, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            page = client.list_objects_v2(**kwargs)
            found |= {item["Key"] for item in page.get("Contents", [])}
            if not page.get("IsTruncated"):
                return found
            token = page["NextContinuationToken"]

    def make_bucket(self) -> None:
        self.s3().create_bucket(Bucket=BUCKET)

    def manage(self, *args: str, timeout: float = 300) -> str:
        command = [sys.executable, "manage.py", *args]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise HarnessError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    # --- the job API, as a staff client --------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> tuple[int | None, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:
            return None, f"{type(error).__name__}: {error}"
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw[:500].decode(errors="replace")

    def job(self, job_id: str) -> dict:
        columns = ("status", "attempts", "images_done", "images_total", "error", "timestr", "emotion", "favorite", "resends")
        row = self.sql(f"SELECT {', '.join(columns)} FROM generation_generationjob WHERE id = %s", (job_id,))
        if not row:
            raise HarnessError(f"no job {job_id}")
        return dict(zip(columns, row[0], strict=True))

    def job_image_keys(self, job_id: str) -> list[str]:
        rows = self.sql(
            "SELECT i.key FROM generation_generationjob_images j JOIN garden_image i ON i.id = j.image_id WHERE j.generationjob_id = %s",
            (job_id,),
        )
        return [key for (key,) in rows]

    def wait_for_job(self, job_id: str, statuses: set[str], seconds: float) -> tuple[dict, float]:
        """The job once its status is one of ``statuses`` and the seconds that took; the job as it
        is (not raising) when the deadline passes."""
        started = time.monotonic()
        job = self.job(job_id)
        while time.monotonic() - started < seconds:
            with contextlib.suppress(Exception):  # the database may be the part that is down
                job = self.job(job_id)
                if job["status"] in statuses:
                    break
            time.sleep(0.3)
        return job, time.monotonic() - started

    def logs(self) -> str:
        """The end of the web and worker logs (without access-log lines), for failure messages."""
        parts = []
        for part in (self.web, self.worker):
            lines = [line for line in tail(part.log, 60_000).splitlines() if not line.startswith("127.0.0.1 ")]
            parts.append(f"--- {part.name} ---\n" + "\n".join(lines)[-2500:])
        return "\n".join(parts)


def _staff_token(stack: Stack) -> str:
    code = (
        "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
        "u, _ = get_user_model().objects.get_or_create(username='faults', defaults={'is_staff': True}); "
        "print(Token.objects.get_or_create(user=u)[0].key)"
    )
    return stack.manage("shell", "-c", code).strip().splitlines()[-1]


@contextlib.contextmanager
def running_stack(settings: dict | None = None, *, keep: bool = False) -> Iterator[Stack]:
    """Start every part (migrated, seeded with a small demo garden) and tear it all down after,
    whatever happens in between. ``settings`` are extra environment variables for web and worker.

    Static files are collected with Django's manifest storage, not whitenoise's compressing one
    (whose manifest it reads): the kiosk page needs the manifest, and compressing every file again
    takes most of a minute on a busy 2-core machine."""
    missing = missing_tools()
    if missing:
        raise HarnessError(f"missing: {', '.join(missing)}")
    folder = Path(tempfile.mkdtemp(prefix="garden-faults-"))
    folder.chmod(0o755)  # the PostgreSQL user must reach its own sub-folder
    (folder / "pg").mkdir()
    postgres = Postgres(folder / "pg")
    parts: list[Part] = []
    db_proxy: CommitCutter | None = None
    began = time.monotonic()
    try:
        postgres.init()
        postgres.start()
        database_url = postgres.create_database("garden")

        redis_port, moto_port, web_port = free_port(), free_port(), free_port()
        redis_argv = [which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--dir", str(folder), "--daemonize", "no"]  # fmt: skip
        redis = Part("redis", redis_argv, env=dict(os.environ), log=folder / "redis.log", ready=lambda: redis_ping(redis_port))
        s3_endpoint = f"http://127.0.0.1:{moto_port}"
        moto = Part(
            "moto",
            [which("moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            env={**os.environ, **S3_KEYS},
            log=folder / "moto.log",
            ready=lambda: http_ok(s3_endpoint + "/moto-api/"),
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GARDEN_", "CELERY_", "DATABASE_", "CACHE_", "DJANGO_"))},
            **S3_KEYS,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "faults-" + "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "GARDEN_VAR_DIR": str(folder / "var"),
            "GARDEN_STATIC_ROOT": str(folder / "static"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_S3_BUCKET": BUCKET,
            "GARDEN_S3_ENDPOINT_URL": s3_endpoint,
            "GARDEN_S3_REGION": "us-east-1",
            "GARDEN_S3_ACCESS_KEY_ID": "testing",
            "GARDEN_S3_SECRET_ACCESS_KEY": "testing",
            "GARDEN_GENERATOR_BACKEND": "procedural",
            "GARDEN_KIOSK_RATE": "1000000/minute",  # the app, not the throttle: every client is 127.0.0.1
            "GARDEN_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **FAST_SETTINGS,
            **(settings or {}),
        }
        (folder / "var").mkdir()
        base = f"http://127.0.0.1:{web_port}"
        # Exactly as the Procfile runs them (web: 2 workers × 4 threads; worker: default and gpu, prefork, 1).
        env["GARDEN_BIND"] = f"127.0.0.1:{web_port}"
        # The web processes reach PostgreSQL through a proxy that can cut a connection at its COMMIT.
        db_proxy = CommitCutter(postgres.port)
        web_env = {**env, "DATABASE_URL": database_url.replace(f":{postgres.port}/", f":{db_proxy.port}/")}
        web = Part("web", procfile_argv("web", web_env), env=web_env, log=folder / "web.log", ready=lambda: http_ok(base + "/api/schema"))
        worker_log = folder / "worker.log"
        worker = Part("worker", procfile_argv("worker", env), env=env, log=worker_log, ready=lambda: " ready." in worker.since_start())
        worker.ready_seconds = 90
        stack = Stack(folder=folder, env=env, redis=redis, postgres=postgres, moto=moto, web=web, worker=worker, base=base,
                      s3_endpoint=s3_endpoint, db_proxy=db_proxy)  # fmt: skip
        stack.timings["postgres"] = time.monotonic() - began
        parts += [redis, moto]
        stack.timings["redis"] = redis.start()
        stack.timings["moto"] = moto.start()
        stack.make_bucket()
        steps = {
            "migrate": ["migrate", "--no-input"],
            "seed": ["seed_demo_garden", "--per-key", "1"],
            "static": ["shell", "-c", COLLECT_UNCOMPRESSED],
        }
        for name, argv in steps.items():
            started = time.monotonic()
            stack.manage(*argv, "-v", "0")
            stack.timings[name] = time.monotonic() - started
        stack.token = _staff_token(stack)
        parts += [web, worker]
        stack.timings["web"] = web.start()
        stack.timings["worker"] = worker.start()
        stack.keys = serving_keys(stack)
        stack.timings = {name: round(value, 1) for name, value in stack.timings.items()}
        yield stack
    finally:
        for part in reversed(parts):
            with contextlib.suppress(Exception):
                part.kill(signal.SIGTERM, seconds=5)
        if db_proxy is not None:
            db_proxy.close()
        postgres.kill_leftovers()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def serving_keys(stack: Stack) -> list[str]:
    """Keys of serving images, as kiosks cut them out of /gardenfromDB's URLs."""
    keys = []
    for search in SEARCHES:
        call = post(stack.base, "/gardenfromDB", {"emotion": search})
        if call.status != 200:
            raise HarnessError(f"/gardenfromDB answered {call.status}: {call.body[:300]!r}\n{stack.logs()}")
        keys += urls_to_keys(json.loads(call.body))
    if len(keys) < 6:
        raise HarnessError(f"the demo garden serves only {len(keys)} images")
    return keys


def urls_to_keys(listing: dict) -> list[str]:
    return [item["url"][item["url"].rindex("emotions") :] for item in listing.get("landscape", []) + listing.get("portrait", [])]


# --- the kiosk client and its record -------------------------------------------------------------------


@dataclass
class Call:
    """One request and what came back, as the client saw it (status None: no answer at all)."""

    started: float
    ended: float
    endpoint: str
    payload: dict
    status: int | None
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200

    def describe(self) -> str:
        what = self.error or self.body[:160].decode(errors="replace")
        return f"{self.endpoint} {self.status} at {self.started:.1f}s: {what!r} {self.headers}"


def post(base: str, path: str, payload: dict, *, timeout: float = 30, clock: float = 0.0) -> Call:
    request = urllib.request.Request(base + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "text/plain;charset=UTF-8"})  # fmt: skip # as old kiosk pages post
    started = time.monotonic() - clock
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, body, headers = error.code, error.read(), error.headers
    except OSError as error:
        return Call(started, time.monotonic() - clock, path, payload, None, error=f"{type(error).__name__}: {error}")
    kept = {name: headers[name] for name in ("Content-Type", "Retry-After", "X-Recommendation-Id") if headers.get(name)}
    return Call(started, time.monotonic() - clock, path, payload, status, body, kept)


class Kiosk:
    """A few kiosks, one thread each, each visit by a new visitor: ``/garden`` for a search key,
    then ``/like`` of one of the three images it showed (the fallback keys when the garden failed),
    and every third visit ``/gardenfromDB``. A like's visitor id is unique, so the rows of
    ``recommend_interaction`` can be matched with the record one by one. Bounded by a visit count
    per thread and a deadline; every call is recorded with the time since the kiosk started."""

    def __init__(self, stack: Stack, scenario: str, *, threads: int = 3, pause: float = 0.15, max_visits: int = 400):
        self.stack, self.scenario, self.threads, self.pause, self.max_visits = stack, scenario, threads, pause, max_visits
        self.calls: list[Call] = []
        self.clock = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def now(self) -> float:
        return time.monotonic() - self.clock

    def _record(self, call: Call) -> Call:
        with self._lock:
            self.calls.append(call)
        return call

    def _visits(self, number: int, deadline: float) -> None:
        keys = self.stack.keys
        for visit in range(self.max_visits):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            visitor = f"{self.scenario}-{number}-{visit}"
            search = SEARCHES[(number + visit) % len(SEARCHES)]
            garden = self._record(post(self.stack.base, "/garden", {"id": visitor, "emotion": search}, clock=self.clock))
            shown = keys[(visit * 3) % (len(keys) - 2) :][:3]
            like = {"id": visitor, "itemId": shown[0], "impression": shown}
            if garden.ok:
                listed = urls_to_keys(json.loads(garden.body))[:3]
                if listed:
                    like = {"id": visitor, "itemId": listed[visit % len(listed)], "impression": listed}
                if garden.headers.get("X-Recommendation-Id"):
                    like["recommendationId"] = garden.headers["X-Recommendation-Id"]
            self._record(post(self.stack.base, "/like", like, clock=self.clock))
            if visit % 3 == number % 3:
                self._record(post(self.stack.base, "/gardenfromDB", {"emotion": search}, clock=self.clock))
            self._stop.wait(self.pause)

    @contextlib.contextmanager
    def running(self, seconds: float) -> Iterator[Kiosk]:
        """Visits for at most ``seconds``; stopped when the block ends, whatever happens in it."""
        self.start(seconds)
        try:
            yield self
        finally:
            self.stop()

    def start(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self._workers = [threading.Thread(target=self._visits, args=(n, deadline), daemon=True) for n in range(self.threads)]
        for thread in self._workers:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=60)
        if any(thread.is_alive() for thread in self._workers):
            raise HarnessError("a kiosk thread did not finish within 60 s of being stopped")

    def by_status(self) -> Counter:
        return Counter("no answer" if call.status is None else call.status for call in self.calls)

    def likes(self) -> list[Call]:
        return [call for call in self.calls if call.endpoint == "/like"]


@dataclass
class Ledger:
    """The client's record of likes against the rows the database holds."""

    answered_ok: int
    lost: list[Call]  # answered 200, no row
    duplicated: list[Call]  # more than one row, or a row for a like that was answered 5xx
    stored_after_no_answer: int  # no answer at all, but stored: the client cannot know (reported, not judged)


def like_ledger(stack: Stack, kiosk: Kiosk) -> Ledger:
    rows = dict(
        stack.sql(
            "SELECT visitor_id, count(*) FROM recommend_interaction WHERE event_type = 'click' AND visitor_id LIKE %s GROUP BY visitor_id",
            (f"{kiosk.scenario}-%",),
        )
    )
    likes = kiosk.likes()
    lost = [call for call in likes if call.ok and rows.get(call.payload["id"], 0) == 0]
    duplicated = [
        call
        for call in likes
        if rows.get(call.payload["id"], 0) > 1 or (call.status is not None and call.status >= 500 and rows.get(call.payload["id"], 0))
    ]
    unknown = sum(1 for call in likes if call.status is None and rows.get(call.payload["id"], 0))
    return Ledger(sum(1 for call in likes if call.ok), lost, duplicated, unknown)


def recovery_seconds(calls: list[Call], since: float) -> float:
    """Seconds from ``since`` (a part back up) to the end of the last kiosk call that was not
    answered 200; 0 when every call after it was."""
    failing = [call.ended for call in calls if call.started >= since and not call.ok]
    return round(max(failing) - since, 1) if failing else 0.0


# --- the scenarios: each breaks one part and puts it back; the tests judge, the bench prints -------------


@dataclass
class Outcome:
    fault: str
    calls: list[Call] = field(default_factory=list)
    ledger: Ledger | None = None
    recover_seconds: float | None = None  # None: did not recover within the scenario's deadline
    outage: tuple[float, float] = (0.0, 0.0)  # on the kiosk's clock
    down_seconds: float = 0.0  # from the kill to the part answering again
    facts: dict = field(default_factory=dict)

    def by_status(self) -> Counter:
        return Counter("no answer" if call.status is None else call.status for call in self.calls)

    def during_outage(self) -> list[Call]:
        start, end = self.outage
        return [call for call in self.calls if call.started < end and call.ended > start]

    def outage_by_endpoint(self) -> dict[str, Counter]:
        """Answers to the calls that overlapped the outage, per endpoint."""
        answers: dict[str, Counter] = {}
        for call in self.during_outage():
            answers.setdefault(call.endpoint, Counter())["no answer" if call.status is None else call.status] += 1
        return answers


def redis_outage(stack: Stack, *, seconds: float = 15) -> Outcome:
    """Redis (cache and broker) killed for ``seconds`` under kiosk traffic, then started again empty."""
    with Kiosk(stack, "redis").running(seconds + 40) as kiosk:
        time.sleep(3)
        down = kiosk.now()
        stack.redis.kill()
        try:
            time.sleep(seconds)
        finally:
            stack.redis.start()
        up = kiosk.now()
        time.sleep(8)
    outcome = Outcome("Redis (cache + broker) down", kiosk.calls, like_ledger(stack, kiosk), recovery_seconds(kiosk.calls, up), (down, up))
    outcome.down_seconds = round(up - down, 1)
    return outcome


def _new_job(stack: Stack, **body) -> tuple[int | None, dict | str]:
    request = {"kind": "bulk", "emotion": "calm/spring,cloudy,day", "backend": "procedural", "count": 1, "width": 256, "height": 256,
               "seed": 7, **body}  # fmt: skip
    return stack.api("POST", "/api/v1/jobs", request)


def planned_keys(job: dict, count: int) -> set[str]:
    folder = f"imgPool/{job['emotion']}/{job['favorite']}" if job["favorite"] else f"imgPool/{job['emotion']}"
    return {f"{folder}/img_{job['timestr']}_{index}{side}.jpeg" for index in range(count) for side in "hv"}


def broker_outage(stack: Stack, *, seconds: float = 10, deadline: float = 90) -> Outcome:
    """A job created while the broker (Redis) is down; Redis comes back empty, the job must run."""
    outcome = Outcome("broker down, job created")
    stack.redis.kill()
    down = time.monotonic()
    try:
        time.sleep(1)
        status, body = _new_job(stack, count=1)
        outcome.facts.update(create_status=status, create_body=body)
        time.sleep(seconds)
    finally:
        stack.redis.start()
    outcome.down_seconds = round(time.monotonic() - down, 1)
    if not isinstance(body, dict) or "id" not in body:
        return outcome
    job, took = stack.wait_for_job(body["id"], {"succeeded", "failed", "cancelled"}, deadline)
    outcome.facts.update(job=job, job_id=body["id"], image_keys=stack.job_image_keys(body["id"]))
    outcome.recover_seconds = round(took, 1) if job["status"] == "succeeded" else None
    return outcome


def worker_killed(stack: Stack, *, count: int = 12, deadline: float = 120) -> Outcome:
    """SIGKILL to the worker's whole process group mid-job; started again at once (as a supervisor
    would), no beat. The job must finish with exactly its planned images."""
    outcome = Outcome("worker SIGKILLed mid-job")
    status, body = _new_job(stack, count=count, width=1280, height=800, seed=11)
    outcome.facts.update(create_status=status, create_body=body)
    if status != 202 or not isinstance(body, dict):
        return outcome
    job_id = body["id"]
    started = time.monotonic()
    while time.monotonic() - started < 60:
        job = stack.job(job_id)
        if job["images_done"] >= 2 or job["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    outcome.facts["killed_at"] = dict(job)
    stack.worker.kill(signal.SIGKILL)
    killed = time.monotonic()
    stack.worker.start()
    outcome.down_seconds = round(time.monotonic() - killed, 1)
    outcome.facts["restarted_within_lease"] = outcome.down_seconds < float(stack.env["GARDEN_JOB_LEASE_SECONDS"])
    job, _ = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"}, deadline - (time.monotonic() - killed))
    took = time.monotonic() - killed
    keys = stack.job_image_keys(job_id)
    planned = planned_keys(job, count)
    stored = {key for (key,) in stack.sql("SELECT key FROM garden_image WHERE key LIKE %s", (f"%img_{job['timestr']}_%",))}
    outcome.facts.update(job=job, job_id=job_id, image_keys=keys, planned=planned, image_rows=stored,
                         s3=stack.s3_keys(f"imgPool/{job['emotion']}/"))  # fmt: skip
    outcome.recover_seconds = round(took, 1) if job["status"] == "succeeded" else None
    return outcome


def postgres_outage(stack: Stack, *, seconds: float = 10) -> Outcome:
    """``pg_ctl stop -m immediate`` under kiosk traffic, started again after ``seconds``; the web
    processes are not restarted."""
    with Kiosk(stack, "postgres").running(seconds + 50) as kiosk:
        time.sleep(3)
        down = kiosk.now()
        stack.postgres.stop("immediate")
        try:
            time.sleep(seconds)
        finally:
            stack.postgres.start()
        up = kiosk.now()
        time.sleep(15)
    outcome = Outcome("PostgreSQL down", kiosk.calls, like_ledger(stack, kiosk), recovery_seconds(kiosk.calls, up), (down, up))
    outcome.down_seconds = round(up - down, 1)
    outcome.facts["web_starts"] = stack.web.starts
    return outcome


def s3_outage(stack: Stack, *, deadline: float = 120) -> Outcome:
    """The S3 server killed: a job fails with a storage error while kiosk traffic goes on; S3 comes
    back (moto keeps nothing, so the bucket is made again) and the failed job is retried."""
    outcome = Outcome("S3 down, job created")
    before = stack.s3_keys()
    with Kiosk(stack, "s3").running(deadline + 30) as kiosk:
        time.sleep(2)
        down = kiosk.now()
        stack.moto.kill()
        try:
            status, body = _new_job(stack, count=1, seed=23)
            outcome.facts.update(create_status=status, create_body=body)
            if isinstance(body, dict) and "id" in body:
                job, took = stack.wait_for_job(body["id"], {"succeeded", "failed", "cancelled"}, deadline)
                outcome.facts.update(job_id=body["id"], failed_job=job, failed_after=round(took, 1))
            # Every image row made while S3 was down must point at a file written before the outage.
            outcome.facts["rows_without_file"] = sorted(key for (key,) in stack.sql("SELECT key FROM garden_image") if key not in before)
        finally:
            stack.moto.start()
            stack.make_bucket()
        up = kiosk.now()
        time.sleep(3)
    outcome.calls, outcome.ledger, outcome.outage = kiosk.calls, like_ledger(stack, kiosk), (down, up)
    outcome.down_seconds = round(up - down, 1)
    job_id = outcome.facts.get("job_id")
    if job_id and outcome.facts["failed_job"]["status"] == "failed":
        retried = time.monotonic()
        outcome.facts["retry"] = stack.api("POST", f"/api/v1/jobs/{job_id}/retry")
        job, _ = stack.wait_for_job(job_id, {"succeeded", "failed", "cancelled"}, deadline)
        after = stack.s3_keys()
        outcome.facts.update(job=job, image_keys=stack.job_image_keys(job_id), planned=planned_keys(job, 1))
        outcome.facts["rows_without_file_after"] = sorted(
            key for (key,) in stack.sql("SELECT key FROM garden_image") if key not in before | after
        )
        outcome.recover_seconds = round(time.monotonic() - retried, 1) if job["status"] == "succeeded" else None
    return outcome
