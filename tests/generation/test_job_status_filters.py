"""No app outside generation spells a job status filter by hand: they read jobs through
``GenerationJob.objects`` by name (generation/querysets.py: ``queued()``, ``running()``,
``in_flight()``, ``finished()``, ``succeeded()``), so what "in flight" means is written once.

The apps' source is read with ``ast``, nothing is imported: a ``job__status…`` lookup, a ``status…``
lookup given GenerationJob's status values, or a tuple of those values is a hand-written filter."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.project_apps import APPS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.backend_free


def _names_job_statuses(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return "GenerationJob.Status." in text or "GenerationJob.FINISHED" in text


def hand_written_filters(source: str) -> Iterator[str]:
    """Each hand-written job status filter in ``source``, as ``line: code``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg and node.arg.startswith("status") and _names_job_statuses(node.value):
            yield f"{node.value.lineno}: {node.arg}={ast.unparse(node.value)}"
        elif isinstance(node, ast.keyword) and node.arg and "job__status" in node.arg:
            yield f"{node.value.lineno}: {node.arg}=…"
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and sum(_names_job_statuses(item) for item in node.elts) >= 2:
            yield f"{node.lineno}: {ast.unparse(node)}"


def test_the_check_sees_each_way_of_spelling_a_status_filter():
    spelled = """
IN_FLIGHT = (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)
a = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED)
b = RetouchJob.objects.filter(job__status__in=GenerationJob.FINISHED)
c = GenerationJob.objects.exclude(status__in=GenerationJob.FINISHED)
d = GenerationJob.objects.in_flight().filter(queue="gpu")
e = Response(body, status=404)
f = job.status == GenerationJob.Status.QUEUED
"""
    assert [found.split(":")[0] for found in hand_written_filters(spelled)] == ["2", "3", "4", "5"]


def test_no_app_outside_generation_filters_jobs_by_status_by_hand():
    found = [
        f"{path.relative_to(ROOT)}:{where}"
        for app in APPS
        if app != "generation"
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for where in hand_written_filters(path.read_text())
    ]
    assert not found, "read jobs through GenerationJob.objects (generation/querysets.py): " + "; ".join(found)
