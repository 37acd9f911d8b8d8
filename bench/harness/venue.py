"""The venue a bench runs in on this machine: a database, a broker, a model store, the web and real workers, each a host.

- **database**: a copy of the tests' migrated template (config/test_databases.py), never a migration
  of its own: ``postgres://server/name`` clones it there (dropped on close), ``sqlite`` copies it
  into the venue's folder;
- **broker**: a Redis URL for Celery and, with ``cache=True``, the shared cache; queues are named
  per venue (``tag``), so several venues share one Redis;
- **store**: ``file`` (a folder of the venue's) or ``s3`` (moto's server in a child process on a
  free loopback port: testkit/s3_server.py), GARDEN_MODELS_STORE for every host;
- **workers**: the Procfile's Celery worker (prefork, one process), each on a host of its own
  (GARDEN_HOST_NAME, its own GARDEN_MODELS_DIR), its log in the venue's folder;
- **web**: gunicorn over the venue's database (testkit/servers.py's server);
- **this process** joins as a host of its own (``join``): Django set up on the venue's settings, so
  a bench reads and writes through the app's own models and services.

    with Venue(work, database=url, broker=redis, store="file") as venue:
        venue.join("bench")
        venue.start_worker("host-a", queue=venue.queue())
        venue.wait_ready(["host-a"])
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from config import test_databases
from testkit import s3_server, servers

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "bench-models"
S3_KEYS = {"GARDEN_S3_REGION": "us-east-1", "GARDEN_S3_ACCESS_KEY_ID": "testing", "GARDEN_S3_SECRET_ACCESS_KEY": "testing"}
JOINED = ("DATABASE_", "GARDEN_", "DJANGO_", "CELERY_", "CACHE_")  # what this process takes from the venue's settings
DONE = ("succeeded", "failed", "cancelled")
EMBEDDED = ("CACHE_URL", "CELERY_BROKER_URL")  # left out of a venue made by here() unless given: the embedded defaults


def postgres_server() -> str:
    """DATABASE_URL's PostgreSQL server (CI's), else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if test_databases.is_postgres(url):
        return url.split("?", 1)[0].rsplit("/", 1)[0]
    return "postgres://postgres@127.0.0.1:5432"


def wait_for(predicate, timeout: float, every: float = 0.3):
    """``predicate()``'s first true value within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    return None


class Venue:
    def __init__(
        self, work: Path, *, database: str = "sqlite", broker: str = "", store: str = "", cache: bool = False, **settings: str
    ) -> None:
        self.work, self.tag = work, uuid.uuid4().hex[:6]
        self.given = settings  # named for this venue: this process takes them too when it joins
        self.database, self.store, self.endpoint = database, store, ""
        self.workers: dict[str, subprocess.Popen] = {}
        self.folders: dict[str, Path] = {}  # a host's models folder when not work/models-<host>
        self._s3: subprocess.Popen | None = None
        self._cloned = ""  # the PostgreSQL database this venue made: the only one it drops
        self._joined = False
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GARDEN_VAR_DIR": str(work / "var"),
            "GARDEN_MEDIA_ROOT": str(work / "media"),
            "GARDEN_GPU_QUEUE": self.queue(),
            "GARDEN_HF_OFFLINE": "true",
            "PYTHONUNBUFFERED": "1",
            **({"CELERY_BROKER_URL": broker} if broker else {}),
            **({"CACHE_URL": broker} if cache else {}),
            **settings,
        }

    # the database, the store, the end

    def __enter__(self) -> Venue:
        try:
            self._open()
        except BaseException:  # what was made so far goes: a with block's __exit__ does not run then
            self.close()
            raise
        return self

    def _open(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        if test_databases.is_postgres(self.database):
            server, name = self.database.split("?", 1)[0].rsplit("/", 1)
            self.env["DATABASE_URL"] = self._cloned = test_databases.clone_postgres(f"{server}/postgres", name)
        else:
            path = self.work / "garden.sqlite3"
            with contextlib.closing(sqlite3.connect(path)) as target:
                test_databases.copy_sqlite(target)
            self.env["DATABASE_URL"] = f"sqlite:///{path}"
        if self.store == "file":
            (self.work / "store").mkdir(exist_ok=True)
            self.env["GARDEN_MODELS_STORE"] = (self.work / "store").as_uri()
        elif self.store == "s3":
            port = s3_server.free_port()
            self.endpoint = f"http://127.0.0.1:{port}"
            self._s3 = s3_server.start(port)
            self.env |= S3_KEYS | {"GARDEN_MODELS_STORE": f"s3://{BUCKET}/models", "GARDEN_S3_ENDPOINT_URL": self.endpoint}
            self.s3_client().create_bucket(Bucket=BUCKET)

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop_workers()
        if self._joined:
            from django.db import connections

            connections.close_all()
        if self._s3 is not None:
            self._s3.kill()
            self._s3.wait()
            self._s3 = None
        if self._cloned:
            server, name = self._cloned.rsplit("/", 1)
            test_databases.drop_postgres(f"{server}/postgres", name)
            self._cloned = ""

    def s3_client(self):
        import boto3

        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **keys)

    # the hosts

    def queue(self, name: str = "gpu") -> str:
        return f"{name}-{self.tag}"

    def folder(self, host: str) -> Path:
        return self.folders.get(host, self.work / f"models-{host}")

    def host_env(self, host: str) -> dict:
        return self.env | {"GARDEN_HOST_NAME": host, "GARDEN_MODELS_DIR": str(self.folder(host))}

    def join(self, host: str = "bench") -> None:
        """This process becomes a host of the venue: its settings taken, Django set up on them."""
        os.environ.update({key: value for key, value in self.host_env(host).items() if key.startswith(JOINED) or key in self.given})
        for key in EMBEDDED:
            if key not in self.env:
                os.environ.pop(key, None)
        import django

        django.setup()
        self._joined = True

    def manage(self, *args: str, host: str = "", timeout: float = 900, **settings: str) -> str:
        """``manage.py`` on the venue's settings (a host's, when named): its output; a failure stops the bench."""
        env = (self.host_env(host) if host else self.env) | settings
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    # the workers

    def log(self, host: str) -> Path:
        return self.work / f"worker-{host}.log"

    def start_worker(
        self, host: str, *, queue: str = "", pool: str = "prefork", loglevel: str = "INFO", new_session: bool = False, **settings: str
    ) -> subprocess.Popen:
        """The Procfile's worker on ``host`` (its own models folder and log), on ``queue`` (the venue's GPU queue by default)."""
        self.folder(host).mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue or self.env["GARDEN_GPU_QUEUE"]]
        command += ["-c", "1", "-P", pool, "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["-n", f"{host}-{self.tag}@%h", "--loglevel", loglevel]
        with self.log(host).open("w") as log:
            worker = subprocess.Popen(
                command, cwd=ROOT, env=self.host_env(host) | settings, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session
            )
        self.workers[host] = worker
        return worker

    def wait_ready(self, hosts: list[str], timeout: float = 300) -> None:
        """Until each host's worker says it is ready in its presence row (this process joined)."""
        from generation.models import WorkerPresence

        def ready() -> bool:
            for host in hosts:
                if self.workers[host].poll() is not None:
                    raise SystemExit(f"{host}'s worker exited:\n{self.log(host).read_text(errors='replace')[-3000:]}")
            return WorkerPresence.objects.filter(host__in=hosts, details__state="ready").values("host").distinct().count() == len(hosts)

        if not wait_for(ready, timeout, every=0.5):
            raise SystemExit(f"the workers of {hosts} did not come up in {timeout:.0f} s (their logs: {self.work})")

    def stop_worker(self, host: str, timeout: float = 60) -> int:
        """SIGTERM (a warm shutdown, as `docker compose stop`), SIGKILL after ``timeout``: its exit code."""
        worker = self.workers.pop(host)
        with contextlib.suppress(ProcessLookupError):
            if worker.pid == os.getpgid(worker.pid):  # a group of its own may have been stopped (SIGSTOP): it goes on first
                os.killpg(worker.pid, signal.SIGCONT)
        worker.send_signal(signal.SIGTERM)
        try:
            return worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            return worker.wait()

    def stop_workers(self) -> None:
        for host in list(self.workers):
            self.stop_worker(host)

    def log_matches(self, host: str, pattern: re.Pattern) -> list[re.Match]:
        return list(pattern.finditer(self.log(host).read_text(errors="replace")))

    # the jobs

    def wait_job(self, job, timeout: float = 900, every: float = 0.2):
        """``job`` (a GenerationJob) refreshed every ``every`` s until it is done; not done in ``timeout``, the bench stops."""
        if not wait_for(lambda: job.refresh_from_db() or job.status in DONE, timeout, every=every):
            raise SystemExit(f"job {job.pk} not done in {timeout:.0f} s: {job.status}")
        return job

    # the web

    @contextlib.contextmanager
    def web(self, *, workers: int = 2, threads: int = 4) -> Iterator[servers.Server]:
        """gunicorn on the venue's database and settings, on a free loopback port, until the block ends."""
        port = servers.free_port()
        env = self.env | {"DJANGO_ALLOWED_HOSTS": "127.0.0.1", "GARDEN_STATIC_ROOT": str(self.work / "static")}
        server = servers.Server(base=f"http://127.0.0.1:{port}", env=env, var_dir=self.work)
        server.command = [str(servers.BIN / "gunicorn"), "config.wsgi", "--threads", str(threads), "--workers", str(workers)]
        server.command += ["--bind", f"127.0.0.1:{port}", "--timeout", "60"]
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def here(prefix: str = "bench-", *, memory: bool = False, **settings: str) -> Iterator[Venue]:
    """This process alone on a venue of its own (no workers or web; cache and broker the embedded
    defaults unless given): a copy of the migrated template in a throw-away folder, Django set up
    on it; for benches that run the app in-process. ``memory``: the folder in /dev/shm where the
    machine has one (SQLite waits for the disk at every commit; a simulation measures the code)."""
    shm = Path("/dev/shm")
    parent = shm if memory and shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as folder:
        (Path(folder) / "static").mkdir()  # WhiteNoise warns about a missing static root; no page here needs one
        venue = Venue(Path(folder), **{"GARDEN_STATIC_ROOT": str(Path(folder) / "static"), **settings})
        for key in EMBEDDED:
            if key not in settings:
                venue.env.pop(key, None)
        with venue:
            venue.join()
            yield venue
