"""Every in-process cache of the project, in one registry (docs/caching.md is made from it).

A cache here is anything a process keeps between calls so as not to compute or load it again:
``@memoized`` functions (functools.lru_cache underneath), ``Lazy`` instances (config.lazy),
``VersionedMemo`` memories (config.memo) and the few kept by hand (a module dictionary, an
object with its own ``reset()``). Each is registered where it is defined, with its owner (the
module), what it is keyed by and what keeps it fresh, so ``reset_all()`` can empty every one and
tests/config/test_caches.py can check that none is missing.

Registration happens once, at definition: calls to a cache cost exactly what they cost without it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

F = TypeVar("F", bound=Callable)

MEMOIZED, LAZY, VERSIONED_MEMO, BY_HAND = "memoized", "Lazy", "VersionedMemo", "by hand"


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
ROOT = Path(__file__).resolve().parent.parent
NOT_APPS = {"tests", "bench"}
# What a module that defines a cache says: registration happens where one of these is.
MARKERS = ("@memoized", "Lazy(", "VersionedMemo(", "caches.register(")


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
        "# In-process caches",
        "",
        "Every cache a web or worker process keeps in memory, as registered in `config/caches.py`. A cache is",
        "defined with `@memoized` (functools.lru_cache, registered), as a `Lazy` (config/lazy.py: one expensive",
        "object, rebuilt when its settings change), as a `VersionedMemo` (config/memo.py: values kept under a",
        "version token) or by hand and registered with `caches.register`; tests/config/test_caches.py fails on",
        "one that is not registered, and on this file when it is not what the registry says. To write it again:",
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
