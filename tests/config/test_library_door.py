"""Issue 87: every library file a job needs goes through one door, ``library.cache.local_path``,
which fetches it onto a host that lacks it (by sha256, hash checked). ``library.selectors.listed_path``
only says where a file is, or would be: code outside library/ may show or record it, never open it.
The apps' source is read with ``ast``, nothing is imported."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
PATH_ONLY = {"listed_path", "absolute_path"}
# Where a path is a name to show or record, never a file to open.
SHOWN_ONLY = {
    "a1111/catalog.py": "A1111's model lists show each file's path (filename, model_path)",
    "generation/services/jobs.py": "a queued job's model_id label; its worker fetches the files",
}

pytestmark = pytest.mark.backend_free


def path_only_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name in PATH_ONLY:
            found.append(f"line {node.lineno}: {name}")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("library"):
            found += [f"line {node.lineno}: imports {alias.name}" for alias in node.names if alias.name in PATH_ONLY]
    return found


def test_no_code_outside_library_reaches_a_library_file_by_path_alone():
    problems = []
    for app in APPS:
        if app == "library":
            continue
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            for use in path_only_uses(path.read_text()):
                if relative in SHOWN_ONLY and "absolute_path" not in use:
                    continue
                problems.append(f"{relative} {use}")
    assert problems == [], "use library.cache.local_path(entry), which fetches the file onto this host:\n" + "\n".join(problems)


def test_the_check_sees_a_caller():
    assert path_only_uses("from library import selectors\nselectors.listed_path(entry)\n") == ["line 2: listed_path"]
    assert path_only_uses("from library.selectors import absolute_path\n") == ["line 1: imports absolute_path"]
    assert not hasattr(__import__("library.selectors").selectors, "absolute_path")
