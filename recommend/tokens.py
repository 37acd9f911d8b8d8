"""Which counters changed: a change token per emotion, in the database (recommend.CounterChange).

/garden reads the counters of a search key's candidates on every request: its largest query. The
serving cache (recommend.serving) keeps them per search key and segment under the token of the
key's emotion and reuses them while the token is unchanged. Every event writes a new random token
for each emotion it counted for in the same statement (PostgreSQL) or transaction (elsewhere) as
its counts, and a rebuild replaces them all once its new counters commit, so the next /garden in
any process reads fresh counters.

A reader reads the token *before* the counters (/garden reads it in its context statement,
recommend.selectors.garden_context): an event committed in between leaves the copy under the older
token, never a stale copy under the newer one, since the token and the counts commit together. An
emotion that never had an event has the token "". Tokens live beside the counters they describe,
so a cache outage changes nothing about them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from config.sql import hot_cursor
from garden.keys import EMOTIONS
from recommend.models import CounterChange


def new_token() -> str:
    return secrets.token_hex(8)


def current(emotion: str) -> str:
    """The emotion's counters token ("" until its first event)."""
    return CounterChange.objects.filter(pk=emotion).values_list("token", flat=True).first() or ""


def renew(emotions: Iterable[str]) -> None:
    """New tokens for ``emotions``, in the caller's transaction. Raw SQL: the ORM has no upsert that
    sets a column from ``excluded``; rows go in a fixed order, as every writer's do."""
    rows = sorted(set(emotions))
    if not rows:
        return
    table, token = CounterChange._meta.db_table, new_token()
    values = ", ".join(["(%s, %s)"] * len(rows))
    with hot_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (emotion, token) VALUES {values} ON CONFLICT (emotion) DO UPDATE SET token = excluded.token",
            [value for emotion in rows for value in (emotion, token)],
        )


def renew_all() -> None:
    """Every emotion's counters changed (a rebuild replaced them)."""
    renew(EMOTIONS)
