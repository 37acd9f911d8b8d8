"""Issue 87: every library file a job needs goes through one door, ``library.cache.local_path``,
which fetches it onto a host that lacks it (by sha256, hash checked). ``library.selectors.listed_path``
only says where a file is, or would be: code outside library/ may show or record it, never open it.
The retouch engine's ControlNets and the tagger are library entries too, named by settings
(GARDEN_RETOUCH_*_CONTROLNET, GARDEN_RETOUCH_TAGGER_MODEL): their values are read by one module,
retouch/model_folders.py, which opens what they name through the door; a1111 and the rest of retouch
ask it. The apps' source is read with ``ast``, nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.project_apps import APPS

ROOT = Path(__file__).resolve().parents[2]
PATH_ONLY = {"listed_path", "absolute_path"}
# Where a path is a name to show or record, never a file to open.
SHOWN_ONLY = {
    "a1111/catalog.py": "A1111's model lists show each file's path (filename, model_path)",
    "generation/services/jobs.py": "a queued job's model_id label; its worker fetches the files",
}

# Settings that name library folders (retouch.model_folders): read only where they are declared and
# by the module that fetches what they name through library.cache.local_path.
FOLDER_SETTINGS = {"GARDEN_RETOUCH_LINEART_CONTROLNET", "GARDEN_RETOUCH_CANNY_CONTROLNET", "GARDEN_RETOUCH_TAGGER_MODEL"}
FOLDER_SETTINGS_READ_IN = {
    "retouch/conf.py": "declares them",
    "retouch/model_folders.py": "resolves each to a library entry and fetches it through library.cache.local_path",
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


def folder_setting_uses(source: str) -> list[str]:
    """Reads of a folder setting: ``settings.NAME``, or the name as a whole string (``getattr(settings, "NAME")``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in FOLDER_SETTINGS:
            found.append(f"line {node.lineno}: reads {node.attr}")
        elif isinstance(node, ast.Constant) and node.value in FOLDER_SETTINGS:
            found.append(f"line {node.lineno}: names {node.value}")
    return found


def test_the_retouch_models_settings_reach_their_folders_only_through_the_door():
    problems = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in FOLDER_SETTINGS_READ_IN:
                continue
            problems += [f"{relative} {use}" for use in folder_setting_uses(path.read_text())]
    assert problems == [], (
        "ask retouch.model_folders (folder(), shown_name(), problem()), which opens them through the door:\n" + "\n".join(problems)
    )
    door = (ROOT / "retouch" / "model_folders.py").read_text()
    assert "library_cache.local_path(" in door


def test_the_checks_cover_retouch_and_a1111():
    assert {"retouch", "a1111", "generation", "live"} <= set(APPS)
    scanned = {app: [path for path in (ROOT / app).rglob("*.py") if "/migrations/" not in path.as_posix()] for app in ("retouch", "a1111")}
    assert all(len(paths) > 10 for paths in scanned.values())
    assert folder_setting_uses("from django.conf import settings\nsettings.GARDEN_RETOUCH_TAGGER_MODEL\n") == [
        "line 2: reads GARDEN_RETOUCH_TAGGER_MODEL"
    ]
    assert folder_setting_uses('getattr(settings, "GARDEN_RETOUCH_CANNY_CONTROLNET")\n') == [
        "line 1: names GARDEN_RETOUCH_CANNY_CONTROLNET"
    ]
    assert folder_setting_uses('raise X("set GARDEN_RETOUCH_TAGGER_MODEL to a tagger")\n') == []  # a message names it, reads nothing
