"""A per-process memory of values computed from one version of some rows (``VersionedMemo``).

The version is a token that the service changing those rows bumps on commit (the serving set's
version, for the rendered garden answers and the recommender's candidates); a new version empties
the memory, so no value outlives the rows it was made from and no time-based guess is needed.
Given an ``owner`` a memo registers itself in config.caches as kept under a database token.
"""

from __future__ import annotations

import threading

from config import caches


class VersionedMemo:
    """A per-process memory of values computed from one version of their rows; a new version empties it.

    Read the version *before* reading the rows a value is computed from: a change committed in
    between is then at worst in a value stored under the older version, never missing from one
    stored under the newer.
    """

    def __init__(self, *, max_entries: int, owner: str = "", name: str = "", key: str = "", fresh: str = "") -> None:
        """``owner``/``name``: the module and the name it is kept under (registered in config.caches
        when given); ``key``: what its entries are keyed by; ``fresh``: the version it is kept under."""
        self.max_entries = max_entries
        self._version: str | None = None
        self._entries: dict = {}
        self._lock = threading.Lock()
        if owner:
            caches.register(self.clear, owner=owner, name=name, kind=caches.VERSIONED_MEMO, key=key, fresh=fresh, rows=True)

    def get(self, version: str, key):
        return self._entries.get(key) if version == self._version else None

    def put(self, version: str, key, value) -> None:
        with self._lock:
            if version != self._version:
                self._version, self._entries = version, {}
            self._store(key, value)

    def put_if_current(self, version: str, key, value) -> None:
        """``put``, but never under a version other than the memo's own: a value derived from an
        entry of an older version (a request that began before a change) does not empty the newer."""
        with self._lock:
            if version == self._version:
                self._store(key, value)

    def _store(self, key, value) -> None:
        if key not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest entry
        self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._version, self._entries = None, {}
