"""/garden's Recommendation rows (attribution), written without a statement of their own.

Every /garden answer keeps a small row so a like can say which answer it came from; the answer's
``X-Recommendation-Id`` names it. Writing it was one INSERT per request, a database round trip of
its own. On PostgreSQL the id is now drawn from the table's sequence in the statement /garden runs
first (``recommend.selectors.garden_context``), and the row waits in this process's ``pending``
list. It is written by whichever comes first:

- the next /garden request of this process: its first statement carries the waiting rows as
  data-modifying CTEs, so under concurrency the rows cost no round trip;
- the end of the last request in flight in this process (Django's ``request_finished``, after the
  answer is sent): a request that finishes while no other is running writes what waits in one
  INSERT, so rows never wait through an idle moment;
- a like, impression or dislike in this process naming a waiting id: it writes them first, so
  attribution sees the row.

/garden called outside a request (a script) writes its row at once.

What this costs (docs/recommendation.md, "Attribution rows"): a row is in the table a few
milliseconds after its answer instead of before it, so a like sent to *another* process in that
time is stored without its attribution; a process killed outright loses the rows waiting in it
(attribution only: no like, count or answer depends on them). A row is written only while its
visitor's ``garden.Visitor`` row exists, read under ``FOR KEY SHARE``; ``recommend.retention
.forget_visitor`` locks that row before deleting, so a row waiting in any process when a visitor is
deleted is never written after the deletion. Visitor ids without a row (sent without /emotion) and
other databases write the row at once, as before. A write that fails waits for the next one; after
``ATTEMPTS`` refusals (not outages) the rows are dropped and logged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from config.sql import hot_cursor
from garden.models import Visitor
from recommend.models import Recommendation

log = logging.getLogger(__name__)

ATTEMPTS = 3  # writes a waiting row may fail before it is dropped (a row the table refuses)
COLUMNS = "id, visitor_id, search_key, image_ids, ranker, created_at, fallback"
_SELECTED = ", ".join(f"r.{column}" for column in COLUMNS.split(", "))


@dataclass(frozen=True)
class Row:
    id: int
    visitor_id: str | None
    search_key: str
    image_ids: list[int]
    ranker: str
    created_at: datetime
    fallback: int


def defers() -> bool:
    """Whether rows wait (PostgreSQL: sequences and data-modifying CTEs)."""
    return connection.vendor == "postgresql"


def reserve_sql() -> str:
    """A row of garden_context's UNION that draws the next id: (0, 'recommendation', id, NULL, NULL)."""
    table = Recommendation._meta.db_table
    return f"SELECT 0, 'recommendation', CAST(nextval(pg_get_serial_sequence('{table}', 'id')) AS TEXT), NULL, NULL"


def writes_sql(rows: list[Row]) -> tuple[str, list]:
    """``WITH …`` data-modifying CTEs that insert ``rows`` (to put before a statement), and their
    parameters: one JSON text (orjson writes the dataclasses), which costs the client far less to
    send than a column array per field, and one statement text whatever the number of rows."""
    table, visitors = Recommendation._meta.db_table, Visitor._meta.db_table
    sql = (
        "WITH waiting AS MATERIALIZED (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, visitor_id text, "
        "search_key text, image_ids jsonb, ranker text, created_at timestamptz, fallback smallint)), "
        f"kept_known AS (INSERT INTO {table} ({COLUMNS}) SELECT {_SELECTED} FROM waiting r "
        f"JOIN {visitors} v ON v.id = r.visitor_id FOR KEY SHARE OF v ON CONFLICT (id) DO NOTHING), "
        f"kept_anonymous AS (INSERT INTO {table} ({COLUMNS}) SELECT {_SELECTED} FROM waiting r "
        "WHERE r.visitor_id IS NULL ON CONFLICT (id) DO NOTHING) "
    )
    return sql, [orjson.dumps(rows).decode()]


class Pending:
    """This process's waiting rows and its requests in flight (``request_started`` to ``request_finished``)."""

    def __init__(self) -> None:
        self._rows: list[tuple[Row, int]] = []  # (row, failed writes)
        self._in_flight = 0
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def end(self) -> bool:
        """This request is done; True when no other request is in flight and rows wait."""
        with self._lock:
            self._in_flight = max(self._in_flight - 1, 0)
            return self._in_flight == 0 and bool(self._rows)

    def in_a_request(self) -> bool:
        with self._lock:
            return self._in_flight > 0

    def keep(self, row: Row) -> None:
        with self._lock:
            self._rows.append((row, 0))

    def take(self) -> list[tuple[Row, int]]:
        with self._lock:
            taken, self._rows = self._rows, []
        return taken

    def failed(self, taken: list[tuple[Row, int]], error: DatabaseError) -> None:
        """A write of ``taken`` failed: they wait again. A refusal (not the database being out of
        reach) counts against the rows: those refused ``ATTEMPTS`` times are dropped."""
        refused = not isinstance(error, (OperationalError, InterfaceError))
        again = [(row, failures + refused) for row, failures in taken if failures + refused < ATTEMPTS]
        if len(again) < len(taken):
            log.error("dropped %d Recommendation rows after %d failed writes", len(taken) - len(again), ATTEMPTS)
        with self._lock:
            self._rows = again + self._rows

    def waiting(self, recommendation_id: int) -> bool:
        with self._lock:
            return any(row.id == recommendation_id for row, _ in self._rows)


pending = Pending()


def riders() -> list[tuple[Row, int]]:
    """The waiting rows, taken to ride with the statement about to run. None inside a transaction
    (a caller's, or a test's): a refused row would abort it, and the request could not read again."""
    return [] if connection.in_atomic_block else pending.take()


def write_waiting() -> None:
    """Write the waiting rows in one statement of their own; a failure is logged and they wait.
    Inside a transaction the statement gets a savepoint, so a refusal leaves the transaction usable."""
    taken = pending.take()
    if not taken:
        return
    sql, params = writes_sql([row for row, _ in taken])
    try:
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext(), hot_cursor() as cursor:
            cursor.execute(sql + "SELECT 1", params)
    except DatabaseError as error:
        log.warning("Recommendation rows not written yet (%d waiting): %s", len(taken), error)
        pending.failed(taken, error)


def request_started(**kwargs) -> None:
    pending.begin()


def request_finished(**kwargs) -> None:
    """After an answer is sent: the last request in flight writes what waits."""
    if pending.end():
        write_waiting()


def write_before(recommendation_id: int | None) -> None:
    """An event names ``recommendation_id``: when that row still waits in this process, write it first."""
    if recommendation_id is not None and pending.waiting(recommendation_id):
        write_waiting()
