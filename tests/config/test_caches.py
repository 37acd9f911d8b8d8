"""config.caches: every cache of the app source (in-process, and the shared cache's entries) is
registered, reset_all() empties each, and docs/caching.md is what the registry says."""

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


# Module-level containers filled at run time that are not caches: emptying one would lose state, not
# a copy of it. (module, name) → what it is.
NOT_CACHES = {
    ("config.appsettings", "DECLARED"): "every setting read: what start-up checks name",
    ("config.appsettings", "_warned"): "warnings already given",
    ("config.caches", "_caches"): "the registry itself",
    ("config.caches.breaker", "_recovery_hooks"): "hooks run when Redis answers again",
    ("config.caches.breaker", "_breakers"): "each Redis server's breaker state",
    ("config.dashboard", "_sections"): "a registration hook",
    ("config.status_facts", "_sources"): "a registration hook",
    ("config.health", "_hanging"): "readiness probes still running",
    ("config.metrics", "_app_collectors"): "a registration hook",
    ("garden.forgetting", "_forgetters"): "a registration hook",
    ("generation.backends.conditioning", "_LOADED_EMBEDDINGS"): "what each text encoder has loaded into itself",
    ("generation.backends.loading", "_budgets"): "the memory fraction set on each CUDA device",
    ("generation.kinds", "_kinds"): "a registration hook",
    ("generation.changes", "_listeners"): "each kind's listener thread (one per process)",
    ("generation.worker.start", "_beacons"): "this worker's presence",
    ("library.cache", "_uses"): "the shared locks this process holds on the model files it uses",
    ("library.store", "_stores"): "each process's client of the model store (a connection, not a copy of data)",
    ("safety.images", "_pool"): "the checking thread pool",
}
MUTABLE = {"dict", "OrderedDict", "defaultdict", "set", "WeakKeyDictionary", "WeakValueDictionary"}
FILLING = {"setdefault", "update", "append", "add", "insert", "extend"}


def _module_containers(tree: ast.Module) -> dict[str, int]:
    """Module-level names bound to an empty dict, list or set (or such a call), by line."""
    found = {}
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        if target is None:
            continue
        empty = (isinstance(value, ast.Dict) and not value.keys) or (isinstance(value, ast.List) and not value.elts)
        call = isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", None)) in MUTABLE
        if empty or call:
            found[target] = node.lineno
    return found


def filled_containers(tree: ast.Module) -> set[str]:
    """Module-level containers that a function fills (``NAME[k] = v``, ``NAME.setdefault(…)``…)."""
    containers = _module_containers(tree)
    filled = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in containers:
                    filled.add(target.value.id)
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
            if call and node.func.value.id in containers and node.func.attr in FILLING:
                filled.add(node.func.value.id)
    return filled


def test_module_level_caches_kept_by_hand_are_registered():
    caches.import_owners()
    problems = []
    for module, path in caches.app_sources():
        for name in sorted(filled_containers(ast.parse(path.read_text("utf-8"), filename=str(path)))):
            if (module, name) not in NOT_CACHES and f"{module}.{name}" not in caches._caches:
                problems.append(
                    f"{module}.{name}: a module-level container filled at run time; register it (caches.register) or say why it is no cache"
                )
    assert problems == []


def test_the_scan_finds_module_level_containers():
    source = (
        "a = {}\nb: dict = dict()\nc = []\nd = {1: 2}\ndef f(k):\n    a[k] = 1\n    b.setdefault(k, 2)\n    c.append(k)\n    d[k] = 3\n"
    )
    assert filled_containers(ast.parse(source)) == {"a", "b", "c"}


def test_the_shared_cache_is_used_only_through_registered_entries():
    """No module but config.caches imports Django's cache: every key has an owner and a freshness rule."""
    problems = []
    for module, path in caches.app_sources():
        if module == "config.caches" or module.startswith("config.caches."):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.core.cache":
                problems.append(f"{module}, line {node.lineno}: use caches.shared(…) instead of django.core.cache")
    assert problems == []


def _resolve(cache: caches.Cache) -> object:
    found: object = importlib.import_module(cache.owner)
    for part in cache.name.split("."):
        found = getattr(found, part)
    return found


def _is_empty(cache: caches.Cache) -> bool:
    kept = _resolve(cache)
    if isinstance(kept, caches.SharedEntry):  # the local-memory cache, or Redis (CI's PostgreSQL pass)
        from django.core.cache import cache as shared

        if not kept.prefix:
            return all(shared.get(key) is None for key in kept._written)
        if isinstance(getattr(shared, "_cache", None), dict):
            return not any(key.split(":", 2)[2].startswith(kept.prefix) for key in shared._cache)
        from django_redis import get_redis_connection

        return next(iter(get_redis_connection("default").scan_iter(f"*{kept.prefix}*")), None) is None
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
    from config import locks
    from curation import selectors as curation_selectors
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
    curation_selectors.distinct_values(field="emotion")
    locks.LOCKS.add("tests:lock", "1", 10)
    filled = {cache.path for cache in caches.registered() if not _is_empty(cache)}
    assert {
        "garden.keys.parsed_or_none",
        "garden.selectors._rendered",
        "recommend.serving.cache._model",
        "recommend.rankers._ranker",
        "generation.backends._procedural",
        "safety.images._loaded",
        "garden.selectors._rendered_shared",
        "curation.selectors._distinct",
        "config.locks.LOCKS",
    } <= filled

    caches.reset_all(rows_only=True)
    assert {cache.path for cache in caches.registered() if not _is_empty(cache)} == filled - {
        "garden.selectors._rendered",
        "garden.selectors._rendered_shared",
        "recommend.serving.cache._model",
    }
    caches.reset_all()
    assert [cache.path for cache in caches.registered() if not _is_empty(cache)] == []


def test_the_caching_doc_is_what_the_registry_says():
    caches.import_owners()
    written = (Path(caches.ROOT) / "docs" / "caching.md").read_text("utf-8")
    assert written == caches.document(), f"docs/caching.md is out of date: {caches.DOCUMENT_COMMAND}"
