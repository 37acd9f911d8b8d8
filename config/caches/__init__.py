"""The project's caches in one place: the registry of every cache (docs/caching.md is made from it)
and, in ``config.caches.breaker``, the Redis circuit breaker every shared-cache call goes through.

A cache here is anything kept between calls so as not to compute or load it again: in a process,
``@memoized`` functions (functools.lru_cache underneath), ``Lazy`` instances (config.lazy),
``VersionedMemo`` memories (config.memo) and the few kept by hand; in the shared cache (Redis in
production), the entries made with ``shared()``: values with a time to live, counters and locks.
Each is registered where it is defined, with its owner, what it is keyed by and what keeps it
fresh, so ``reset_all()`` can empty every one and tests/config/test_caches.py can check that none
is missing. Registration happens once, at definition: a call costs what it cost without it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.core.cache import cache as _shared_cache

F = TypeVar("F", bound=Callable)

MEMOIZED, LAZY, VERSIONED_MEMO, BY_HAND = "memoized", "Lazy", "VersionedMemo", "by hand"
# Entries of the shared cache (Redis in production; per process on the local-memory cache).
SHARED, COUNTER, LOCK, PROBE = "shared (Redis)", "shared counter (Redis)", "shared lock (Redis)", "shared probe (Redis)"


@dataclass(frozen=True)
class Cache:
    owner: str  # the module it lives in
    name: str  # its name in that module
    kind: str  # MEMOIZED, LAZY, VERSIONED_MEMO or BY_HAND
    key: str  # what its entries are keyed by
    fresh: str  # what keeps it fresh: the signal whose change replaces an entry, or why none is needed
    clear: Callable[[], object] = field(compare=False, repr=False)
    # Kept under a token read from the database: a test's rolled-back transaction can bring back an
    # older token, so tests empty these between cases (the others refresh themselves or never go stale).
    rows: bool = False

    @property
    def path(self) -> str:
        return f"{self.owner}.{self.name}"


_caches: dict[str, Cache] = {}


def register(clear: Callable[[], object], *, owner: str, name: str, kind: str = BY_HAND, key: str, fresh: str, rows: bool = False) -> None:
    """Register a cache emptied by ``clear``; a second registration of one path replaces the first."""
    cache = Cache(owner=owner, name=name, kind=kind, key=key, fresh=fresh, clear=clear, rows=rows)
    _caches[cache.path] = cache


class UnregisteredKey(Exception):
    """A key outside the entry's prefix: a programming error, never a cache miss."""


class SharedEntry:
    """A family of keys of the shared cache, all starting with ``prefix``, kept ``ttl`` seconds.

    Every read and write of the shared cache goes through one of these (tests/config/test_caches.py
    refuses a direct ``cache.set``), so each key the project writes has an owner and a freshness
    rule. The calls are Django's cache calls, behind config.caches.breaker on Redis.
    """

    def __init__(self, *, prefix: str, ttl: int | None, raw: bool = False) -> None:
        self.prefix, self.ttl, self.raw = prefix, ttl, raw  # raw: written with Redis commands, unversioned
        self._written: set[str] = set()  # an unprefixed family (locks named by their callers): its keys

    def key(self, suffix: str) -> str:
        return self.prefix + suffix

    def _own(self, key: str) -> str:
        if not key.startswith(self.prefix):
            raise UnregisteredKey(f"{key!r} is not a key of the shared entry {self.prefix!r}")
        if not self.prefix:
            self._written.add(key)
        return key

    def get(self, key: str, default=None):
        return _shared_cache.get(self._own(key), default)

    def set(self, key: str, value, ttl: int | None = None) -> None:
        _shared_cache.set(self._own(key), value, ttl or self.ttl)

    def add(self, key: str, value, ttl: int | None = None) -> bool:
        return _shared_cache.add(self._own(key), value, ttl or self.ttl)

    def incr(self, key: str) -> int:
        return _shared_cache.incr(self._own(key))

    def decr(self, key: str) -> int:
        return _shared_cache.decr(self._own(key))

    def delete(self, key: str) -> None:
        _shared_cache.delete(self._own(key))

    def clear(self) -> None:
        """Delete this family's keys: by pattern on Redis; a per-process cache is emptied whole."""
        if self.raw and hasattr(_shared_cache, "delete_pattern"):
            from config.caches.breaker import redis_call

            redis_call("clear", lambda redis: [redis.delete(key) for key in redis.scan_iter(self.prefix + "*")], default=None)
        elif not self.prefix:
            for key in list(self._written):
                _shared_cache.delete(key)
            self._written.clear()
        elif hasattr(_shared_cache, "delete_pattern"):
            _shared_cache.delete_pattern(self.prefix + "*")
        elif isinstance(local := getattr(_shared_cache, "_cache", None), dict):  # the local-memory cache (tests)
            made = _shared_cache.make_key(self.prefix)
            start = len(made) - len(self.prefix)  # where the key starts after the version prefix
            for key in [key for key in list(local) if key.startswith(made)]:
                _shared_cache.delete(key[start:])
        else:  # another backend without pattern deletion: emptied whole
            _shared_cache.clear()


def clear_shared() -> None:
    """Empty the whole shared cache (a restore replaced the data every entry was made from)."""
    _shared_cache.clear()


def shared(
    *, owner: str, name: str, prefix: str, ttl: int | None, key: str, fresh: str, kind: str = SHARED, raw: bool = False, rows: bool = False
) -> SharedEntry:
    """A registered family of shared-cache keys (see SharedEntry); ``fresh`` says what replaces them."""
    entry = SharedEntry(prefix=prefix, ttl=ttl, raw=raw)
    expiry = f"; expires after {ttl} s" if ttl else ""
    described = f"`{prefix}…`: {key}" if prefix else key
    register(entry.clear, owner=owner, name=name, kind=kind, key=described, fresh=fresh + expiry, rows=rows)
    return entry


def memoized(*, key: str, fresh: str, maxsize: int | None = None) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)`` (``maxsize=None``: ``functools.cache``), registered.

    The function returned is lru_cache's own wrapper (``cache_clear``, ``cache_info`` included):
    no work is added per call.
    """

    def decorate(function: F) -> F:
        wrapper = functools.lru_cache(maxsize=maxsize)(function)
        register(wrapper.cache_clear, owner=function.__module__, name=function.__qualname__, kind=MEMOIZED, key=key, fresh=fresh)
        return wrapper  # type: ignore[return-value]

    return decorate


def registered() -> list[Cache]:
    """Every registered cache, by owner and name."""
    return sorted(_caches.values(), key=lambda cache: (cache.owner, cache.name))


def reset_all(*, rows_only: bool = False) -> None:
    """Empty every registered cache; ``rows_only``: only those kept under a database token.

    Tests empty the ``rows`` ones between cases (tests/conftest.py); the others hold models and
    compiled lists that take up to a second to load again and are never stale for a test (keyed by
    all they depend on, or checked against the settings on each use).
    """
    for cache in list(_caches.values()):
        if cache.rows or not rows_only:
            cache.clear()


# The project's own packages (tests and benches are not app source).
ROOT = Path(__file__).resolve().parents[2]
NOT_APPS = {"tests", "bench", "testkit"}  # testkit: what tests and benches share
# What a module that defines a cache says: registration happens where one of these is.
MARKERS = ("@memoized", "Lazy(", "VersionedMemo(", "caches.register(", "caches.shared(")


def app_sources() -> Iterator[tuple[str, Path]]:
    """(module name, path) of every Python file of the project's apps, migrations left out."""
    for package in sorted(ROOT.glob("*/__init__.py")):
        if package.parent.name in NOT_APPS:
            continue
        for path in sorted(package.parent.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" not in parts:
                yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def import_owners() -> None:
    """Import every app module that defines a cache, so the registry holds them all."""
    for module, path in app_sources():
        if any(marker in path.read_text("utf-8") for marker in MARKERS):
            importlib.import_module(module)


DOCUMENT_COMMAND = (
    ".venv/bin/python manage.py shell -v 0 -c "
    "\"from config import caches; caches.import_owners(); print(caches.document(), end='')\" > docs/caching.md"
)


def document() -> str:
    """docs/caching.md: every registered cache, from the registry (tests/config/test_caches.py
    checks that the committed file is this)."""
    lines = [
        "# Caches",
        "",
        "Every cache a web or worker process keeps, in memory or in the shared cache (Redis in production), as",
        "registered in `config/caches/` (the registry in `__init__.py`; the Redis circuit breaker every",
        "shared-cache call goes through in `breaker.py`, [operations.md](operations.md)). In a process a cache",
        "is defined with `@memoized` (functools.lru_cache, registered), as a `Lazy` (config/lazy.py: one",
        "expensive object, rebuilt when its settings change), as a `VersionedMemo` (config/memo.py: values kept",
        "under a version token) or by hand and registered with `caches.register`; in the shared cache, as a",
        "`caches.shared(…)` entry (a key prefix, a time to live, an owner: values, counters, locks), the only way",
        "to reach it (no other module imports `django.core.cache`). tests/config/test_caches.py fails on a cache",
        "that is not registered (functools caches, module-level containers filled at run time, direct",
        "shared-cache calls), and on this file when it is not what the registry says. To write it again:",
        "",
        "```sh",
        DOCUMENT_COMMAND,
        "```",
        "",
        "Each cache is kept fresh by its signal below. `caches.reset_all()` empties every one; between tests,",
        "tests/conftest.py empties those kept under a token read from the database (*rows*), since a rolled-back",
        "transaction can bring an older token back. The others are keyed by all they depend on, check their",
        "settings on each use, or never change while the process runs.",
        "",
        "| Owner | Cache | Kind | Keyed by | Kept fresh by | Emptied by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cache in registered():
        emptied = "`reset_all()`, and between tests (*rows*)" if cache.rows else "`reset_all()`"
        lines.append(f"| `{cache.owner}` | `{cache.name}` | {cache.kind} | {_cell(cache.key)} | {_cell(cache.fresh)} | {emptied} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
