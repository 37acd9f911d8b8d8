"""The database part of a backup: dump and restore per engine, migration state, row counts.

PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --clean --if-exists --no-owner --single-transaction``
with a client at least as new as the server (on the PATH or under /usr/lib/postgresql/*/bin).
SQLite: the online backup API both ways (a consistent copy while the file is in use; a restore
replaces the whole database, every table included).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path

from django.apps import apps
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from config.errors import DomainError

# Rows that `migrate` itself creates: a database with only these is empty.
CREATED_BY_MIGRATE = {"contenttypes.contenttype", "auth.permission", "garden.servingstate"}
SEARCH_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql@*/bin")


class BackupError(DomainError):
    """The backup or restore cannot go on (the message says why and what to do)."""


def vendor() -> str:
    if connection.vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")
    return connection.vendor


def dump_name() -> str:
    return "database/postgresql.dump" if vendor() == "postgresql" else "database/sqlite3.db"


def server_version() -> str:
    if vendor() == "postgresql":
        connection.ensure_connection()
        number = connection.pg_version  # type: ignore[attr-defined]
        return f"{number // 10000}.{number % 10000}"
    return sqlite3.sqlite_version


# --- state ----------------------------------------------------------------------------------------


def table_names() -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def _models():
    """Every model with a table of its own (many-to-many tables included), existing or not."""
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy:
            yield model


def row_counts() -> dict[str, int]:
    """Rows per model (``app_label.model``) for the tables that exist."""
    existing = set(table_names())
    return {model._meta.label_lower: model._default_manager.count() for model in _models() if model._meta.db_table in existing}


def tables_with_data() -> list[str]:
    """Models with rows beyond what `migrate` creates; empty: the database may be restored into."""
    return sorted(label for label, count in row_counts().items() if count and label not in CREATED_BY_MIGRATE)


def applied_migrations() -> dict[str, list[str]]:
    per_app: dict[str, list[str]] = defaultdict(list)
    for app_label, name in MigrationRecorder(connection).applied_migrations():
        per_app[app_label].append(name)
    return {app_label: sorted(names) for app_label, names in sorted(per_app.items())}


def unknown_migrations(archived: dict[str, list[str]]) -> list[str]:
    """Migrations applied in the archive that this code does not have: the archive is ahead of it."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return sorted(f"{app_label}.{name}" for app_label, names in archived.items() for name in names if (app_label, name) not in known)


def unapplied_migrations(archived: dict[str, list[str]]) -> list[str]:
    """Migrations of this code the archive has not applied (a restore is then followed by migrate)."""
    applied = {(app_label, name) for app_label, names in archived.items() for name in names}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(f"{app_label}.{name}" for app_label, name in loader.graph.leaf_nodes() if (app_label, name) not in applied)


# --- dump and restore -----------------------------------------------------------------------------


def state() -> dict:
    """What the manifest records of the database: migrations per app, rows per model, tables."""
    return {"migrations": applied_migrations(), "counts": row_counts(), "tables": table_names()}


def dump(destination: Path) -> dict:
    """Write a consistent copy of the database to ``destination``; returns its state() at that moment."""
    if vendor() == "postgresql":
        # One snapshot for the counts and the dump: pg_dump --snapshot joins this transaction's.
        connection.ensure_connection()  # its set-up statements before the transaction's first
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            recorded = state()
            command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={destination}"]
            _run([*command, _database()], "pg_dump")
        return recorded
    connection.ensure_connection()
    target = sqlite3.connect(destination)
    try:
        connection.connection.backup(target)
        return _sqlite_state(target)
    finally:
        target.close()


def _sqlite_state(copy: sqlite3.Connection) -> dict:
    """state() of the copy itself (the live database may have moved on since)."""
    tables = sorted(row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    per_app: dict[str, list[str]] = defaultdict(list)
    if "django_migrations" in tables:
        for app_label, name in copy.execute("SELECT app, name FROM django_migrations"):
            per_app[app_label].append(name)
    counts = {}
    for model in _models():
        if model._meta.db_table in tables:
            counts[model._meta.label_lower] = copy.execute(
                f"SELECT COUNT(*) FROM {connection.ops.quote_name(model._meta.db_table)}"
            ).fetchone()[0]
    return {"migrations": {app: sorted(names) for app, names in sorted(per_app.items())}, "counts": counts, "tables": tables}


def restore(source: Path, *, archived_tables: list[str]) -> None:
    """Replace the database's contents with the dump at ``source``."""
    if vendor() == "postgresql":
        # Tables the archive does not have (a later migration's) would survive --clean and break
        # the next migrate: drop them first.
        extra = sorted(set(table_names()) - set(archived_tables))
        if extra:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS " + ", ".join(connection.ops.quote_name(t) for t in extra) + " CASCADE")
        connection.close()  # pg_restore needs the tables unlocked; Django reconnects on next use
        command = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
        _run([_pg_tool("pg_restore"), *command, f"--dbname={_database()}", str(source)], "pg_restore")
        return
    connection.ensure_connection()
    dump_connection = sqlite3.connect(source)
    try:
        dump_connection.backup(connection.connection)
    finally:
        dump_connection.close()
    connection.close()


def _database() -> str:
    return str(connection.settings_dict["NAME"])


def _environment() -> dict[str, str]:
    """libpq's variables for Django's connection settings (the password never on a command line)."""
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", settings_dict.get("HOST")),
        ("PGPORT", settings_dict.get("PORT")),
        ("PGUSER", settings_dict.get("USER")),
        ("PGPASSWORD", settings_dict.get("PASSWORD")),
        ("PGSSLMODE", (settings_dict.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            env[variable] = str(value)
    return env


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, env=_environment(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BackupError(f"{what} failed (exit {result.returncode}): {' / '.join(detail) or 'no output'}")


def _tool_major(path: str) -> int | None:
    try:
        output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", output)
    return int(found.group(1)) if found else None


def _pg_tool(name: str) -> str:
    """The client tool matching the server's major version (or the nearest newer one)."""
    connection.ensure_connection()
    server_major = connection.pg_version // 10000  # type: ignore[attr-defined]
    candidates = [shutil.which(name)] + [os.path.join(folder, name) for pattern in SEARCH_DIRS for folder in sorted(glob.glob(pattern))]
    majors = {path: _tool_major(path) for path in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK))}
    usable = sorted((major, path) for path, major in majors.items() if major is not None and major >= server_major)
    if not usable:
        seen = ", ".join(f"{path} ({major})" for path, major in majors.items()) or "none found"
        raise BackupError(
            f"{name} for PostgreSQL {server_major} or newer is needed (install postgresql-client-{server_major}); found: {seen}."
        )
    return usable[0][1]
