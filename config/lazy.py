"""One lazy, per-process instance of an expensive object (a model, a pipeline, a client).

Face-analysis backends, generator backends and rankers all load weights or open clients once
per process and are shared by every request after that. ``Lazy`` builds its object on first
use, rebuilds it when the settings it was built from change (a reconfigured worker, a test that
overrides settings) and drops it on ``reset()``. ``Lazy.reset_all()`` is what tests call between
cases so that no instance leaks from one test into the next.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    _all: ClassVar[weakref.WeakSet[Lazy]] = weakref.WeakSet()

    def __init__(self, build: Callable[[], T], *, fingerprint: Callable[[], Hashable] = tuple) -> None:
        self._build = build
        self._fingerprint = fingerprint
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built_for: Hashable | None = None
        Lazy._all.add(self)

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

    @classmethod
    def reset_all(cls) -> None:
        for lazy in list(cls._all):
            lazy.reset()
