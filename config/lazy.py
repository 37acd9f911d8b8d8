"""One lazy, per-process instance of an expensive object (a model, a pipeline, a client).

Face-analysis backends, generator backends and rankers all load weights or open clients once
per process and are shared by every request after that. ``Lazy`` builds its object on first
use, rebuilds it when the settings it was built from change (its fingerprint: a reconfigured
worker, a test that overrides settings) and drops it on ``reset()``. Given an ``owner`` it
registers itself in config.caches, whose ``reset_all()`` drops it with every other cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from config import caches

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(
        self, build: Callable[[], T], *, fingerprint: Callable[[], Hashable] = tuple, owner: str = "", name: str = "", fresh: str = ""
    ) -> None:
        """``owner``/``name``: the module and the name it is kept under (registered in config.caches
        when given); ``fresh``: what its fingerprint reads, in words."""
        self._build = build
        self._fingerprint = fingerprint
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built_for: Hashable | None = None
        if owner:
            caches.register(self.reset, owner=owner, name=name, kind=caches.LAZY, key="nothing: one instance per process", fresh=fresh)

    def get(self) -> T:
        """The instance for the current settings, built (once, under a lock) if needed."""
        wanted = self._fingerprint()
        value = self._value
        if value is not None and self._built_for == wanted:
            return value
        with self._lock:
            if self._value is None or self._built_for != wanted:
                # The old instance is dropped before the new one loads: one model per process.
                self._value = None
                self._value, self._built_for = self._build(), wanted
            return self._value

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def reset(self) -> None:
        with self._lock:
            self._value, self._built_for = None, None
