"""docs/development.md's two tables stay true: every upward registry with the apps that fill it, and
every hook of a worker's start, life and stop, whichever app registers it (issue 97).

The registrations are read from every app's ``AppConfig.ready()`` (ast): a call of a ``register…``
or ``use_…`` function of another package of this repository. The hooks are read from Celery as a
worker would see them: the receivers of its worker signals, the worker's bootsteps, the request
classes of the tasks."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from celery import current_app, signals
from celery.worker.request import Request
from django.apps import apps
from django.conf import settings

import generation.tasks  # noqa: F401 (its task's request class and the worker's steps)

ROOT = Path(settings.BASE_DIR)
DOC = ROOT / "docs" / "development.md"
WORKER_SIGNALS = (
    "worker_init",
    "worker_process_init",
    "worker_ready",
    "worker_process_shutdown",
    "worker_shutting_down",
    "worker_shutdown",
)


def doc_table(heading: str) -> list[list[str]]:
    """The rows of the first table after the line that starts with ``heading``: each cell's text."""
    lines = DOC.read_text().splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(heading))
    rows, seen = [], False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            seen = True
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= set("-"):
                rows.append(cells)
        elif seen:
            break
    return rows[1:]  # without the header


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def project_packages() -> set[str]:
    return {"config"} | {Path(config.path).name for config in apps.get_app_configs() if Path(config.path).parent == ROOT}


def registrations() -> set[tuple[str, str]]:
    """(registry function, app) for each registration an app's ready() makes into another package."""
    packages, found = project_packages(), set()
    for config in apps.get_app_configs():
        if Path(config.path).parent != ROOT or not (Path(config.path) / "apps.py").exists():
            continue
        app = Path(config.path).name
        tree = ast.parse((Path(config.path) / "apps.py").read_text())
        imported: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in imported:
                target = f"{imported[func.value.id]}.{func.attr}"
            elif isinstance(func, ast.Name) and func.id in imported:
                target = imported[func.id]
            else:
                continue
            package, function = target.partition(".")[0], target.rpartition(".")[2]
            if package in packages and package != app and function.startswith(("register", "use_")):
                found.add((target, app))
    return found


def hooks() -> set[tuple[str, str]]:
    """(hook, when) for every worker signal receiver of this repository, bootstep and task request class."""
    packages, found = project_packages(), set()
    for name in WORKER_SIGNALS:
        for _key, ref in getattr(signals, name).receivers:
            receiver = ref() if type(ref).__name__ in {"ReferenceType", "WeakMethod"} else ref
            if receiver is not None and receiver.__module__.partition(".")[0] in packages:
                found.add((f"{receiver.__module__}.{receiver.__qualname__}", f"`{name}`"))
    for step in current_app.steps["worker"]:
        kind = "bootstep (timer)" if any(base.__name__ == "PeriodicStep" for base in step.__mro__[1:]) else "bootstep"
        found.add((f"{step.__module__}.{step.__name__}", kind))
    for task in current_app.tasks.values():
        request = task.Request if inspect.isclass(task.Request) else None
        if request is not None and request is not Request and request.__module__.partition(".")[0] in packages:
            found.add((f"{request.__module__}.{request.__qualname__}", "a job's task request"))
    return found


def test_every_upward_registry_and_who_fills_it_is_in_the_table():
    table = {(names(row[0])[0], app) for row in doc_table("### Upward registries") for app in names(row[1])}
    assert registrations() == table


def test_every_hook_of_a_worker_is_in_the_table():
    table = {(names(row[0])[0], row[1]) for row in doc_table("Every hook of a worker's start")}
    assert hooks() == table
