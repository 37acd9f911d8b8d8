"""Which counters changed: a change token per emotion, in the database (recommend.CounterChange).

The serving cache (recommend.serving) keeps /garden's counters, its largest query, under the token
of the key's emotion. Every event writes a new random token for each emotion it counted for, with
its counts; a rebuild replaces them all once its counters commit. A token is SHARDS rows read
together and an event writes one at random, so concurrent likes of one emotion rarely wait on one
row lock. Readers read the token *before* the counters (recommend.selectors.garden_context), so a
copy is never stale under a newer token. An emotion with no event has the token "". Tokens live
beside the counters, so a cache outage changes nothing about them.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable

from config.sql import hot_cursor
from garden.keys import EMOTIONS
from recommend.models import CounterChange

SHARDS = 16  # rows per emotion: more than the web tier's concurrent writers of one emotion, usually


def new_token() -> str:
    return secrets.token_hex(8)


def new_shard() -> int:
    """The shard an event writes: random, so concurrent writers seldom pick the same row."""
    return random.randrange(SHARDS)  # spreads locks; not a secret


def joined(shards: Iterable[tuple[int, str]]) -> str:
    """An emotion's token from its (shard, token) rows ("" for none)."""
    return ".".join(f"{shard}:{token}" for shard, token in sorted(shards))


def current(emotion: str) -> str:
    """The emotion's counters token ("" until its first event)."""
    return joined(CounterChange.objects.filter(emotion=emotion).values_list("shard", "token"))


def renew(emotions: Iterable[str]) -> None:
    """New tokens for ``emotions`` (one shard each), in the caller's transaction. Raw SQL: the ORM
    has no upsert that sets a column from ``excluded``; rows go in a fixed order, as every writer's do."""
    rows = sorted(set(emotions))
    if not rows:
        return
    table, shard, token = CounterChange._meta.db_table, new_shard(), new_token()
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    with hot_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (emotion, shard, token) VALUES {values} "
            "ON CONFLICT (emotion, shard) DO UPDATE SET token = excluded.token",
            [value for emotion in rows for value in (emotion, shard, token)],
        )


def renew_all() -> None:
    """Every emotion's counters changed (a rebuild replaced them)."""
    renew(EMOTIONS)
