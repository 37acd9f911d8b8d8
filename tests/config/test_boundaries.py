"""What the layers contract (pyproject.toml, [tool.importlinter]) cannot see: an app uses only
another app's public names, and never its HTTP surface (views, pages, admin).

A ``_name`` is its module's own business, so an app that needs it asks its owner to make it public;
views, pages and admin modules are entry points, so what two apps share lives elsewhere
(config.api, selectors, services). The apps' source is read with ``ast``, nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.project_apps import APPS

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = {"views", "pages", "admin"}

pytestmark = pytest.mark.backend_free


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def problems_in(source: str, app: str) -> Iterator[str]:
    """What ``source`` (a module of ``app``) takes from other apps that it should not."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name → another app's module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [(f"{node.module}.{alias.name}", alias.asname or alias.name) for alias in node.names]
            imported = [(dotted, local, dotted) for dotted, local in names]
        elif isinstance(node, ast.Import):
            # ``import a.b`` binds ``a``; ``import a.b as c`` binds ``c`` to ``a.b``.
            imported = [(a.name, a.asname or a.name.split(".")[0], a.name if a.asname else a.name.split(".")[0]) for a in node.names]
        else:
            continue
        for dotted, local, bound in imported:
            owner, *path = dotted.split(".")
            if owner not in APPS or owner == app:
                continue
            if private := [index for index, part in enumerate(path) if is_private(part)]:
                yield f"line {node.lineno}: {dotted} ({path[private[0]]} is private to {'.'.join([owner, *path[: private[0]]])})"
            if entry := ENTRY_POINTS.intersection(path):
                yield f"line {node.lineno}: {dotted} (the {entry.pop()} module of {owner})"
            if is_module(bound):
                modules[local] = bound
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        first, _, rest = ast.unparse(node.value).partition(".")
        owner = modules.get(first)
        if owner and is_module(module := ".".join(filter(None, (owner, rest)))):
            yield f"line {node.lineno}: {ast.unparse(node)} ({node.attr} is private to {module})"


def app_modules() -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            yield app, path


def test_no_app_takes_another_apps_private_names_or_entry_points():
    found = [f"{path.relative_to(ROOT)} {problem}" for app, path in app_modules() for problem in problems_in(path.read_text(), app)]
    assert not found, "\n".join(found)


def test_every_app_is_read():
    assert {"config", "generation", "a1111", "live"} <= set(APPS)
    assert all((ROOT / app / "__init__.py").is_file() for app in APPS)


@pytest.mark.parametrize(
    "source",
    [
        "from generation.backends.diffusion import _import_torch",
        "from generation import _private_module",
        "import generation._private_module",
        "from generation.views import GenerationAPIView",
        "from generation import views",
        "import generation.pages",
        "from curation.admin.styles import PromptStyleAdmin",
        "from garden.faces import expression\nexpression._size('64')",
        "import garden.faces.expression as faces\nfaces._size('64')",
        "import garden.faces.expression\ngarden.faces.expression._size('64')",
    ],
)
def test_what_counts_as_a_reach_in(source):
    assert list(problems_in(source, "retouch"))


@pytest.mark.parametrize(
    "source",
    [
        "from retouch.engine import _engine",  # its own app
        "from retouch import views",
        "from generation.backends.diffusion import import_torch",
        "from garden.models import Image\nImage._meta.db_table",  # Django's documented model API, on a class
        "from django.contrib import admin",
        "from django.utils.translation import gettext as _",
        "from config.api import StaffOrTokenAPIView",
    ],
)
def test_what_does_not(source):
    assert not list(problems_in(source, "retouch"))


def imported_roots(folder: Path) -> set[tuple[str, str]]:
    """(file, top-level package) for every import in ``folder``'s Python files."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_testkit_is_shared_and_imports_neither_tests_nor_bench():
    # testkit/ is what both import; were it to import either, the two would again depend on each other.
    assert {(file, root) for file, root in imported_roots(ROOT / "testkit") if root in {"tests", "bench"}} == set()
