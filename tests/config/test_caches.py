"""config.caches: every in-process cache of the app source is registered, reset_all() empties each,
and docs/caching.md is what the registry says."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from django.test import RequestFactory

from config import caches
from config.lazy import Lazy
from config.memo import VersionedMemo

FUNCTOOLS_CACHES = {"cache", "lru_cache"}
REGISTERING_CLASSES = {"Lazy", "VersionedMemo"}


class _Finder(ast.NodeVisitor):
    """functools caches, ``@memoized`` functions and Lazy/VersionedMemo calls of one module."""

    def __init__(self) -> None:
        self.functools_names: set[str] = set()  # names bound by ``from functools import cache``
        self.unregistered: list[str] = []  # functools caches that outlive a call
        self.memoized: list[str] = []  # qualified names
        self.instances: list[tuple[int, str | None]] = []  # (line, the name= given or None)
        self._scope: list[str] = []
        self._in_function = 0

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "functools":
            self.functools_names |= {alias.asname or alias.name for alias in node.names if alias.name in FUNCTOOLS_CACHES}

    def _is_functools_cache(self, node: ast.expr) -> bool:
        target = node.func if isinstance(node, ast.Call) else node
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            return target.value.id == "functools" and target.attr in FUNCTOOLS_CACHES
        return isinstance(target, ast.Name) and target.id in self.functools_names

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            if self._is_functools_cache(decorator) and not self._in_function:
                self.unregistered.append(f"line {node.lineno}: @{ast.unparse(decorator)} on {node.name}")
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if getattr(target, "id", getattr(target, "attr", None)) == "memoized":
                self.memoized.append(".".join([*self._scope, node.name]))
        self._scope.append(node.name)
        self._in_function += 1
        self.generic_visit(node)
        self._in_function -= 1
        self._scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        # A functools cache made inside a function body lives as long as that call: not a process cache.
        if self._is_functools_cache(node) and not self._in_function and not isinstance(node.func, ast.Call):
            self.unregistered.append(f"line {node.lineno}: {ast.unparse(node.func)}(...)")
        if isinstance(node.func, ast.Name) and node.func.id in REGISTERING_CLASSES:
            named = [kw.value.value for kw in node.keywords if kw.arg == "name" and isinstance(kw.value, ast.Constant)]
            self.instances.append((node.lineno, named[0] if named else None))
        self.generic_visit(node)


def _scan() -> dict[str, _Finder]:
    found = {}
    for module, path in caches.app_sources():
        finder = _Finder()
        finder.visit(ast.parse(path.read_text("utf-8"), filename=str(path)))
        if finder.unregistered or finder.memoized or finder.instances:
            found[module] = finder
    return found


def test_every_cache_in_the_app_source_is_registered():
    problems = []
    scanned = _scan()
    for module, finder in scanned.items():
        importlib.import_module(module)
        problems += [f"{module}, {where}: use config.caches.memoized" for where in finder.unregistered]
        for name in finder.memoized:
            if f"{module}.{name}" not in caches._caches:
                problems.append(f"{module}.{name}: @memoized but not registered")
        for line, name in finder.instances:
            if name is None:
                problems.append(f"{module}, line {line}: a Lazy or VersionedMemo without owner=__name__, name=...")
            elif f"{module}.{name}" not in caches._caches:
                problems.append(f"{module}.{name} (line {line}): not registered under that name")
    assert problems == []
    # The scan sees what there is: the four ways the project builds caches are all found.
    assert {"garden.keys", "garden.selectors", "recommend.serving", "garden.faces"} <= set(scanned)


def test_the_scan_finds_unregistered_caches():
    finder = _Finder()
    finder.visit(
        ast.parse(
            "import functools\nfrom functools import lru_cache as kept\n"
            "@functools.cache\ndef a(): ...\n"
            "@kept(maxsize=2)\ndef b(): ...\n"
            "c = functools.lru_cache(maxsize=None)(len)\n"
            "d = Lazy(object)\n"
            "def local():\n    return functools.cache(len)\n"
        )
    )
    assert [problem.split(":")[0] for problem in finder.unregistered] == ["line 4", "line 6", "line 7"]  # the def lines
    assert finder.instances == [(8, None)]


def _resolve(cache: caches.Cache) -> object:
    found: object = importlib.import_module(cache.owner)
    for part in cache.name.split("."):
        found = getattr(found, part)
    return found


def _is_empty(cache: caches.Cache) -> bool:
    kept = _resolve(cache)
    if hasattr(kept, "cache_info"):
        return kept.cache_info().currsize == 0
    if isinstance(kept, Lazy):
        return not kept.loaded
    if isinstance(kept, VersionedMemo):
        return kept.get("any", "any") is None and not kept._entries
    if isinstance(kept, Mapping):
        return len(kept) == 0
    if hasattr(kept, "models"):  # generation.backends.LoadedPipelines
        return kept.models == []
    return kept is None


def test_every_registered_cache_resolves_to_a_cache_of_its_owner():
    caches.import_owners()
    registered = caches.registered()
    assert len(registered) >= 25
    for cache in registered:
        _is_empty(cache)  # resolves, and is of a kind the emptiness check knows
        assert cache.key and cache.fresh, cache.path


@pytest.mark.django_db
def test_reset_all_empties_every_registered_cache():
    from garden import keys, selectors
    from generation import backends
    from recommend import rankers, serving
    from safety import images

    caches.import_owners()
    keys.parsed_or_none("emotions/calm/img_20230320-121242_0h.jpeg")
    selectors.rendered_garden(search_key="calm", request=RequestFactory().get("/gardenfromDB"))
    serving.cache.model()
    rankers.get_ranker()
    backends.get_backend("procedural")
    images._loaded["cpu"] = object()
    filled = {cache.path for cache in caches.registered() if not _is_empty(cache)}
    assert {
        "garden.keys.parsed_or_none",
        "garden.selectors._rendered",
        "recommend.serving.cache._model",
        "recommend.rankers._ranker",
        "generation.backends._procedural",
        "safety.images._loaded",
    } <= filled

    caches.reset_all(rows_only=True)
    assert {cache.path for cache in caches.registered() if not _is_empty(cache)} == filled - {
        "garden.selectors._rendered",
        "recommend.serving.cache._model",
    }
    caches.reset_all()
    assert [cache.path for cache in caches.registered() if not _is_empty(cache)] == []


def test_the_caching_doc_is_what_the_registry_says():
    caches.import_owners()
    written = (Path(caches.ROOT) / "docs" / "caching.md").read_text("utf-8")
    assert written == caches.document(), f"docs/caching.md is out of date: {caches.DOCUMENT_COMMAND}"
