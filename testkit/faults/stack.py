"""The fault suite's own installation: servers it starts, kills and restarts, and a kiosk client.

Everything runs on loopback ports of its own and under one temporary folder: a redis-server
(cache on db 1, Celery broker on db 0; nothing kept on disk, like production Redis here), a
PostgreSQL cluster (``initdb`` in the folder, run as a non-root user because PostgreSQL refuses
root), a moto S3 server, then the app as the Procfile runs it: gunicorn (2 workers × 4 threads)
and one Celery worker (queues default and gpu, prefork, concurrency 1), no beat. The machine's
shared PostgreSQL and Redis are never touched: only the processes started here are signalled,
by the process groups they were started in.

The scenarios (testkit/faults/outages.py) run against it; ``tests/faults/test_faults.py`` asserts
on what they record and ``bench/faults.py`` prints the same records as a table."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from testkit.faults.processes import (
    ROOT,
    HarnessError,
    Part,
    Postgres,
    free_port,
    http_ok,
    missing_tools,
    procfile_argv,
    redis_ping,
    tail,
    which,
)
from testkit.faults.proxy import CommitCutter
from testkit.faults.traffic import serving_keys

BUCKET = "garden-faults"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
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
        try:
            stack.keys = serving_keys(stack.base)
        except HarnessError as error:
            raise HarnessError(f"{error}\n{stack.logs()}") from error
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
