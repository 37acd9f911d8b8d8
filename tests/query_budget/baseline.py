"""The checked-in query budget (budget.json): per database vendor, each case's SQL query count on
a cold cache, and, where a second identical request counts fewer, its warm count (informational).

``UPDATE_QUERY_BUDGET=1`` rewrites the running vendor's entries as the cases run; the file is read,
changed and written under a lock, so parallel test processes (pytest-xdist) each add their own.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

PATH = Path(__file__).with_name("budget.json")
LOCK = Path(tempfile.gettempdir()) / "garden-query-budget.lock"
ABOUT = (
    "SQL queries per request on a cold cache (tests/query_budget). A count above its budget fails the test; "
    "rewrite with UPDATE_QUERY_BUDGET=1 (docs/development.md, 'Query budget'). 'warm': the count of the same "
    "GET repeated without clearing caches, kept where it differs."
)


def updating() -> bool:
    return os.environ.get("UPDATE_QUERY_BUDGET", "") not in ("", "0")


def load() -> dict:
    return json.loads(PATH.read_text("utf-8")) if PATH.exists() else {}


def budget(vendor: str) -> dict[str, int]:
    return load().get(vendor, {}).get("queries", {})


@contextmanager
def _locked():
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = load()
            yield data
            data["about"] = ABOUT
            ordered = {key: data[key] for key in sorted(data, key=lambda key: (key != "about", key))}
            PATH.write_text(json.dumps(ordered, indent=2, ensure_ascii=False, sort_keys=False) + "\n", "utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(vendor: str, name: str, cold: int, warm: int | None) -> None:
    with _locked() as data:
        section = data.setdefault(vendor, {})
        queries = section.setdefault("queries", {})
        queries[name] = cold
        section["queries"] = dict(sorted(queries.items()))
        warm_counts = section.setdefault("warm", {})
        if warm is not None and warm != cold:
            warm_counts[name] = warm
        else:
            warm_counts.pop(name, None)
        section["warm"] = dict(sorted(warm_counts.items()))


def prune(vendor: str, known: set[str]) -> list[str]:
    """Drop entries of cases that no longer exist; returns their names."""
    with _locked() as data:
        section = data.setdefault(vendor, {"queries": {}, "warm": {}})
        stale = sorted(set(section.get("queries", {})) - known)
        for name in stale:
            section["queries"].pop(name, None)
            section.get("warm", {}).pop(name, None)
        return stale
