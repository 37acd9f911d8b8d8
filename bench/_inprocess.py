"""The kiosk API in this process: a migrated SQLite database of its own and the real views
through Django's test client (middleware, views, services, the serving cache, the rankers), no
gunicorn and no sockets. For simulations that need thousands of requests per run (the hall
scenario of bench/learning.py) and for smoke runs that must take seconds.

Migrating takes seconds of CPU, so a migrated database is kept as a template under
var/bench/, named by a hash of every migration file, and copied for each run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "var" / "bench"


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def template_database() -> Path:
    """A migrated SQLite database for the current migrations (made once, then reused)."""
    template = TEMPLATES / f"migrated-{_migrations_hash()}.sqlite3"
    if template.exists():
        return template
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="garden-bench-migrate-") as work:
        database = Path(work) / "garden.sqlite3"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "GARDEN_VAR_DIR": work}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        partial = template.with_suffix(f".{os.getpid()}.partial")
        shutil.copyfile(database, partial)
        os.replace(partial, template)  # concurrent makers: the last complete copy wins, never a half one
    return template


def scratch(prefix: str) -> tempfile.TemporaryDirectory:
    """A throw-away directory for a run's database, in memory where the machine has /dev/shm:
    SQLite waits for the disk at every commit, and on a busy shared disk that was ~40 ms a like,
    most of a run's time; a simulation measures the ranker, not the disk."""
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix=prefix, dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)


def set_up_django(work: Path, **settings: str) -> None:
    """Point this process at a fresh copy of the template in ``work`` and set Django up on it
    (once per process: Django cannot be set up twice)."""
    database = work / "garden.sqlite3"
    shutil.copyfile(template_database(), database)
    (work / "static").mkdir(exist_ok=True)  # WhiteNoise warns about a missing static root; no page here needs one
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "GARDEN_VAR_DIR": str(work),
            "GARDEN_STATIC_ROOT": str(work / "static"),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "GARDEN_KIOSK_RATE": "100000000/minute",
            **settings,
        }
    )
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):  # the embedded defaults, as the tests use
        os.environ.pop(name, None)
    import django

    django.setup()


class ClientKiosk:
    """Kiosk calls through Django's test client: the same interface as bench/gardener.py's Kiosk."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client()

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        response = self.client.post(path, json.dumps(body), content_type="application/json")
        return response.status_code, response.content

    def top_three(self, visitor: str, key: str, segment: str) -> list[str]:
        status, body = self.post("/garden", {"id": visitor, "emotion": key, "generation": segment})
        assert status == 200, body[:300]
        return [url[url.rindex("emotions/") :] for url in (item["url"] for item in json.loads(body)["landscape"][:3])]
