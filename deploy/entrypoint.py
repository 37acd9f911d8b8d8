#!/usr/bin/env python3
"""The container's one entrypoint: ``entrypoint.py ROLE [ARGS…]``.

Roles (docs/deploy.md):

  web                gunicorn's gthread worker (config/web_threads.py) on config.wsgi, GARDEN_BIND
                     (GARDEN_WEB_WORKERS processes of GARDEN_WEB_THREADS threads: deploy/gunicorn.conf.py),
                     access log on stdout; empties PROMETHEUS_MULTIPROC_DIR first
  worker             Celery worker for the `default` queue (procedural painting, sweeps, rebuilds)
  gpu-worker         Celery worker for the GPU queue (GARDEN_GPU_QUEUE, diffusers); needs the gpu image
  live-worker        Celery worker for the live queue (GARDEN_LIVE_QUEUE): the live picture, one per GPU,
                     --pool solo with its finishing processes
  beat               Celery beat, its schedule file under GARDEN_VAR_DIR
  comfy              the ComfyUI-compatible door (manage.py comfy_door) on GARDEN_COMFY_BIND
  migrate            migrate + createcachetable under a PostgreSQL advisory lock (replicas wait, then no-op)
  manage ARGS…       manage.py ARGS…

The app lives beside this script's folder (GARDEN_APP_DIR overrides it), and the programs
(gunicorn, celery) beside the running Python, so the same script runs in the image (/app, /opt/venv)
and from a checkout (``.venv/bin/python deploy/entrypoint.py manage check``). Every role but
``migrate`` replaces this process (exec), so signals reach gunicorn and Celery directly.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

APP_DIR = Path(os.environ.get("GARDEN_APP_DIR") or Path(__file__).resolve().parent.parent)
BIN_DIR = Path(sys.executable).parent
# One number for "the schema is being changed": every migrate role takes it, whichever replica.
MIGRATE_LOCK_ID = 0x6761_7264  # "gard"
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'

USAGE = """\
usage: entrypoint.py ROLE [ARGS…]

roles:
  web          gunicorn (GARDEN_BIND, GARDEN_WEB_WORKERS, GARDEN_WEB_THREADS, GARDEN_LIVE_WAIT_SLOTS)
  worker       Celery worker, queue default (GARDEN_WORKER_CONCURRENCY)
  gpu-worker   Celery worker, queue GARDEN_GPU_QUEUE (gpu), one process per GPU
  live-worker  Celery worker, queue GARDEN_LIVE_QUEUE (live), one per GPU, --pool solo
  beat         Celery beat, schedule under GARDEN_VAR_DIR
  comfy        the ComfyUI door (GARDEN_COMFY_BIND, default 127.0.0.1:8188; 0.0.0.0:8188 in the image)
  migrate      migrate + createcachetable under an advisory lock
  manage ARGS  manage.py ARGS (e.g. manage createsuperuser)
"""


def _env(name: str, default: str) -> str:
    """An environment variable, its default when unset or blank (compose passes blanks through)."""
    return os.environ.get(name, "").strip() or default


def _exec(program: str, *args: str) -> None:
    """Replace this process with ``program`` from the Python's bin folder (or PATH)."""
    path = BIN_DIR / program
    executable = str(path) if path.exists() else shutil.which(program) or program
    os.chdir(APP_DIR)
    sys.stdout.flush()
    os.execv(executable, [executable, *args])


def _var_dir() -> Path:
    return Path(_env("GARDEN_VAR_DIR", str(APP_DIR / "var")))


def _metrics_dir(*, empty: bool) -> None:
    """Prometheus multiprocess mode: every process writes its samples under PROMETHEUS_MULTIPROC_DIR
    and /metrics sums them, so the folder must exist. A long-running role starts it empty (files
    of an earlier run would be summed too); a one-off ``manage`` beside a running web keeps them."""
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not metrics_dir:
        return
    if empty:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)


def _media_dir() -> None:
    """Local image files (no GARDEN_S3_BUCKET): the folder exists from the start, so /readyz's
    storage check passes on a fresh volume before the first image is saved."""
    if not _env("GARDEN_S3_BUCKET", ""):
        Path(_env("GARDEN_MEDIA_ROOT", str(_var_dir() / "media"))).mkdir(parents=True, exist_ok=True)


def web(args: list[str]) -> None:
    _metrics_dir(empty=True)
    _media_dir()
    # The Procfile's web line: its threads (requests, and the long polls' waits) in gunicorn.conf.py.
    _exec(
        "gunicorn",
        "config.wsgi",
        "--config",
        str(APP_DIR / "deploy" / "gunicorn.conf.py"),
        "--worker-class",
        "config.web_threads.Worker",
        "--bind",
        _env("GARDEN_BIND", "127.0.0.1:8000"),
        "--workers",
        _env("GARDEN_WEB_WORKERS", "2"),
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        *args,
    )


def _celery_worker(queue: str, concurrency: str, args: list[str], *, pool: str = "prefork") -> None:
    _metrics_dir(empty=True)
    _media_dir()
    _exec(
        "celery",
        "-A",
        "config",
        "worker",
        "--queues",
        queue,
        "--concurrency",
        concurrency,
        "--pool",
        pool,
        "--loglevel",
        _env("GARDEN_LOG_LEVEL", "INFO"),
        *args,
    )


def worker(args: list[str]) -> None:
    _celery_worker("default", _env("GARDEN_WORKER_CONCURRENCY", "2"), args)


def gpu_worker(args: list[str]) -> None:
    # One process per GPU: a second diffusers pipeline on the same card only competes for memory.
    _celery_worker(_env("GARDEN_GPU_QUEUE", "gpu"), "1", args)


def live_worker(args: list[str]) -> None:
    # Live pictures only (docs/live.md): one process per GPU, which keeps the live model loaded. Solo:
    # its main thread paints, and it owns its finishing processes (generation.worker.finishing_processes).
    _celery_worker(_env("GARDEN_LIVE_QUEUE", "live"), "1", args, pool="solo")


def beat(args: list[str]) -> None:
    _metrics_dir(empty=True)
    schedule = _var_dir() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    _exec("celery", "-A", "config", "beat", "--schedule", str(schedule), "--loglevel", _env("GARDEN_LOG_LEVEL", "INFO"), *args)


def migrate(args: list[str]) -> None:
    _metrics_dir(empty=False)
    _media_dir()
    sys.path.insert(0, str(APP_DIR))
    os.chdir(APP_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    locked = connection.vendor == "postgresql"
    if locked:
        # Blocking, session-level: a second replica waits here, then finds nothing left to migrate.
        print("migrate: waiting for the schema lock", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_ID])
    try:
        call_command("migrate", "--no-input", *args)
        call_command("createcachetable")  # only does something for CACHE_URL=dbcache://…
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_ID])
    print("migrate: done", flush=True)


def comfy(args: list[str]) -> None:
    os.chdir(APP_DIR)
    bind = _env("GARDEN_COMFY_BIND", "127.0.0.1:8188")
    os.execv(sys.executable, [sys.executable, str(APP_DIR / "manage.py"), "comfy_door", "--bind", bind, *args])


def manage(args: list[str]) -> None:
    _metrics_dir(empty=False)
    os.chdir(APP_DIR)
    os.execv(sys.executable, [sys.executable, str(APP_DIR / "manage.py"), *args])


ROLES = {
    "web": web,
    "worker": worker,
    "gpu-worker": gpu_worker,
    "live-worker": live_worker,
    "beat": beat,
    "comfy": comfy,
    "migrate": migrate,
    "manage": manage,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ROLES:
        if argv and argv[0] in ("-h", "--help", "help"):
            sys.stdout.write(USAGE)
            return 0
        sys.stderr.write((f"unknown role: {argv[0]}\n" if argv else "no role given\n") + USAGE)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    ROLES[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
