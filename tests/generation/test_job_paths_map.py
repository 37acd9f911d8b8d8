"""docs/development.md's three paths (a bulk job, a retouch job, a live picture) name real code:
every ``module:function`` (or ``module:Class.method``) of the section resolves; a short module name
(``runner:_run``) is the last whole one of that name written before it."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"`([a-z_][a-z_0-9.]*):([A-Za-z_][A-Za-z_0-9.]*)")

pytestmark = pytest.mark.backend_free


def section() -> str:
    text = (ROOT / "docs" / "development.md").read_text("utf-8")
    return text.split("### Three jobs followed call by call", 1)[1].split("\n### ", 1)[0]


def test_every_call_on_the_three_paths_names_real_code():
    whole: dict[str, str] = {}  # a module's last part → the whole name last written
    missing, named = [], 0
    for module, attribute in NAME.findall(section()):
        if "." in module:
            whole[module.rsplit(".", 1)[1]] = module
        module = whole.get(module, module)
        value = importlib.import_module(module)
        for part in attribute.split("."):
            value = getattr(value, part, None)
        named += 1
        if value is None:
            missing.append(f"{module}:{attribute}")
    assert named > 40 and missing == []
