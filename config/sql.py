"""The kiosk's hot statements: raw SQL that PostgreSQL parses and plans once per connection.

Django binds parameters on the client and never prepares statements (so that transaction-mode
connection poolers keep working), which makes PostgreSQL parse and plan every kiosk query anew:
for the few statements run on every /garden, /like and /gardenfromDB call that is a large share
of the database's work. ``hot_cursor()`` runs them with server-side binding and psycopg's
prepared statements instead (on the same connection and transaction as the ORM), when
DATABASE_PREPARED_STATEMENTS is on; elsewhere (SQLite, or the setting off) it is Django's cursor.

Statements run through it must keep one text whatever their parameters (lists go in as one array
parameter, ``= ANY(%s)``), or every variant is prepared separately.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connection


class _PreparedCursor:
    """The subset of a DB-API cursor the hot statements use, over a server-binding psycopg cursor."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        started = time.monotonic()
        with connection.wrap_database_errors:  # the same exceptions as Django's cursor raises
            self._cursor.execute(sql, params, prepare=True)
        if connection.queries_logged:  # DEBUG, or a test counting queries: log it like Django does
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self) -> list:
        return self._cursor.fetchall()


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list]:
    """``column IN (…)`` as SQL and parameters: one array parameter on PostgreSQL (one statement text
    whatever the count), a placeholder per value elsewhere. Integers go as an array literal, which
    the server parses at half the client's cost of adapting each element."""
    if connection.vendor != "postgresql":
        return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
    if values and all(type(value) is int for value in values):
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, values)) + "}"]
    return f"{column} = ANY(%s)", [list(values)]


def prepares_statements() -> bool:
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


@contextlib.contextmanager
def hot_cursor() -> Iterator[Any]:
    if not prepares_statements():
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    # What Django's own cursor() does first: with CONN_HEALTH_CHECKS, a persistent connection the
    # server dropped (a restart) is replaced here instead of failing this request.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield _PreparedCursor(cursor)
