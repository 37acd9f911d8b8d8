"""What every benchmark's ``--smoke`` shares: the real path at a tiny size, in seconds (tests/bench/test_smoke.py).

A smoke run proves that a bench still starts and gets through its path; its figures mean nothing
and it writes no results file. A bench that needs PostgreSQL says so in ``SMOKE_NEEDS`` (read by
the test without importing the bench) and, in a smoke run, takes its database from its own
variable (e.g. BENCH_SERVING_DATABASE_URL) as before, else from DATABASE_URL when that is
PostgreSQL, under a name of its own: the test database's name, the bench's, and the pytest-xdist
worker's, so that parallel test processes never share one (config/parallel_tests.py).
"""

from __future__ import annotations

import os


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def database_url(bench: str, default: str, variable: str) -> str:
    """The database a bench uses in a smoke run: ``variable`` when set, else a database of the bench's
    own beside DATABASE_URL's when that is PostgreSQL, else ``default``."""
    if os.environ.get(variable):
        return os.environ[variable]
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(url):
        return default
    server, name = url.split("?", 1)[0].rsplit("/", 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{server}/{name}_{bench}_smoke" + (f"_{worker}" if worker else "")


def cache_url(default: str, variable: str) -> str:
    """The Redis a bench uses in a smoke run: ``variable`` when set, else CACHE_URL when it is Redis
    (a pytest-xdist worker's own database, config/parallel_tests.py), else ``default``."""
    if os.environ.get(variable):
        return os.environ[variable]
    url = os.environ.get("CACHE_URL", "")
    return url if url.startswith("redis://") else default


def drop_database(url: str) -> None:
    """Drops a smoke run's database (the test does, after the run); nothing when it is not there."""
    import psycopg

    server, name = url.split("?", 1)[0].rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
