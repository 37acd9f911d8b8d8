"""garden's statuses and verdicts are spelled only in garden/choices.py.

Every project module (migrations, tests and benches left out) is read (ast) for a string constant
equal to a picture status or an image-check verdict. Dictionary keys, docstrings and the words
given to gettext are names and prose, not values, and are not reported.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

from garden import choices

ROOT = Path(settings.BASE_DIR)
VALUES = frozenset(choices.Status.values) | frozenset(choices.Verdict.values)
NOT_APPS = {"tests", "bench", ".venv", "node_modules"}
HOME = ROOT / "garden" / "choices.py"


def project_modules():
    for package in sorted(ROOT.glob("*/__init__.py")):
        if package.parent.name in NOT_APPS:
            continue
        for path in sorted(package.parent.rglob("*.py")):
            if "migrations" not in path.parts and path != HOME:
                yield path


TRANSLATED = frozenset({"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy", "npgettext"})


def not_values(tree: ast.AST) -> set[int]:
    """ids of the constants that are names or prose: dictionary keys, docstrings, translated words."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys if key is not None)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSLATED:
            skipped.update(id(argument) for argument in node.args)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
    return skipped


def literals(source: str, name: str) -> list[str]:
    tree = ast.parse(source, filename=name)
    skipped = not_values(tree)
    return [
        f"{name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in VALUES and id(node) not in skipped
    ]


def test_no_status_or_verdict_literal_outside_garden_choices():
    found = [hit for path in project_modules() for hit in literals(path.read_text("utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "Spell these through garden.choices (Status, Verdict):\n" + "\n".join(found)


def test_the_scan_sees_literals_but_not_keys_or_docstrings():
    source = '''
"""A module about "serving" pictures."""
def f(image):
    """Serving."""
    evidence = {"serving": 3, "label": _("pool")}
    if image.status == "serving":
        return image.filter(safety_verdict="flagged")
    return ("pool", evidence["serving"])
'''
    hits = sorted(hit.split(": ")[1] for hit in literals(source, "m.py"))
    assert hits == ["'flagged'", "'pool'", "'serving'", "'serving'"], hits
