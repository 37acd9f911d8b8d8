"""A changelist paginator that does not COUNT(*) a large table on every page."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

from curation.selectors import estimated_row_count

# Below this many (estimated) rows an exact count is cheap enough and nicer to read.
EXACT_COUNT_BELOW = 10_000


def _planner_estimate(queryset) -> int | None:
    """PostgreSQL's estimate of how many rows a filtered query returns (EXPLAIN, no scan)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Exact counts for small results; on PostgreSQL, the planner's estimate for large ones.

    SQLite counts 100k indexed rows in a few milliseconds, so it keeps exact counts. On
    PostgreSQL a COUNT(*) reads every visible row (MVCC); past EXACT_COUNT_BELOW rows the
    admin shows the statistics' estimate instead, which is what page links need. The last page
    may then be short or empty; no row is ever skipped, since pages are plain LIMIT/OFFSET slices.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        unfiltered = not queryset.query.where
        estimate = estimated_row_count(model=queryset.model) if unfiltered else _planner_estimate(queryset)
        if estimate is not None and estimate >= EXACT_COUNT_BELOW:
            return estimate
        return super().count
