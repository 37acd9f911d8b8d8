"""One migrated template database per set of migrations, cloned for each test process and test server.

Migrating the project's database takes tens of seconds on a loaded 2-core machine; with every
pytest-xdist process and every test server migrating for itself that was minutes per run. The first
process that needs the template builds it (``manage.py migrate`` under tests.settings, under a file
lock that the other processes wait on); everyone else copies it: PostgreSQL by ``CREATE DATABASE …
TEMPLATE``, SQLite by the backup API. The template's name carries a hash of the migrations, so a
changed migration builds a new one (and drops the old) and an unchanged one is reused across runs.
Set GARDEN_TEST_TEMPLATE_REBUILD=1 to build it again anyway (as pytest-django's ``--create-db``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PREFIX = "garden_template_"


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://"))


def migrations_key() -> str:
    """A short hash of what decides the migrated schema: the project's migrations and the pinned requirements."""
    digest = hashlib.sha256()
    files = sorted(ROOT.glob("*/migrations/*.py")) + sorted((ROOT / "requirements").glob("*.txt"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _work_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"garden-test-templates-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    return folder


def _admin_url(database_url: str) -> str:
    return database_url.rsplit("/", 1)[0] + "/postgres"


def _with_name(database_url: str, name: str) -> str:
    return database_url.rsplit("/", 1)[0] + f"/{name}"


def _migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings", "CELERY_TASK_ALWAYS_EAGER": "true"}
    for args in (["migrate", "--no-input", "--run-syncdb", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def template(database_url: str) -> str:
    """The migrated template for ``database_url``'s engine (built now if missing): a PostgreSQL
    database's name, or an SQLite file's path."""
    key = migrations_key()
    rebuild = os.environ.get("GARDEN_TEST_TEMPLATE_REBUILD") == "1" and not os.environ.get("GARDEN_TEST_TEMPLATE_REBUILT")
    with FileLock(_work_dir() / "build.lock", timeout=900):
        name = _postgres_template(database_url, key, rebuild) if is_postgres(database_url) else _sqlite_template(key, rebuild)
    if rebuild:  # once per run: the test processes and servers started from here reuse it
        os.environ["GARDEN_TEST_TEMPLATE_REBUILT"] = "1"
    return name


def _sqlite_template(key: str, rebuild: bool) -> str:
    path = _work_dir() / f"{TEMPLATE_PREFIX}{key}.sqlite3"
    if path.exists() and not rebuild:
        return str(path)
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    _migrate(f"sqlite:///{building}")
    with contextlib.closing(sqlite3.connect(building)) as db:  # fold the WAL in: a copy is then one file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    os.replace(building, path)
    for old in _work_dir().glob(f"{TEMPLATE_PREFIX}*.sqlite3"):
        if old != path:
            old.unlink(missing_ok=True)
    return str(path)


def _postgres_template(database_url: str, key: str, rebuild: bool) -> str:
    import psycopg

    name = f"{TEMPLATE_PREFIX}{key}"
    with psycopg.connect(_admin_url(database_url), autocommit=True) as admin:
        existing = [row[0] for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [TEMPLATE_PREFIX + "%"])]
        if name in existing and not rebuild:
            return name
        building = f"{name}_building"
        for stale in {*existing, building}:
            admin.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{building}"')
        _migrate(_with_name(database_url, building))
        admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


def clone_postgres(database_url: str, name: str) -> str:
    """A fresh copy of the template named ``name`` (dropped first if a crashed run left it); its URL."""
    import psycopg

    source = template(database_url)
    with psycopg.connect(_admin_url(database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(20):
            try:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:  # another clone's copy still holds the template for a moment
                if attempt == 19:
                    raise
                time.sleep(0.5)
    return _with_name(database_url, name)


def drop_postgres(database_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_sqlite(target: sqlite3.Connection) -> None:
    """Fill ``target`` (a file's or an in-memory database's connection) with the migrated template."""
    with contextlib.closing(sqlite3.connect(template("sqlite://"))) as source:
        source.backup(target)


@contextlib.contextmanager
def server_database(var_dir: Path, name: str) -> Iterator[str]:
    """The DATABASE_URL of a migrated database of a test server's own: a copy of the template in
    ``var_dir`` (SQLite) or a clone named after ``name`` and this process (PostgreSQL), dropped after."""
    configured = os.environ.get("DATABASE_URL", "")
    if not is_postgres(configured):
        var_dir.mkdir(parents=True, exist_ok=True)  # a server's var folder may not exist yet
        path = var_dir / "garden.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as target:
            copy_sqlite(target)
        yield f"sqlite:///{path}"
        return
    database = f"{name}_{os.getpid()}"
    url = clone_postgres(configured, database)
    try:
        yield url
    finally:
        drop_postgres(configured, database)
