"""Settings declared beside their apps (config.appsettings): every setting the code reads is declared,
every variable follows the naming rule, a former variable name still works (with a warning), and
docs/settings.md is the page bin/settings-doc writes from the declarations."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import environ
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

import config.settings as project_settings
from config import appsettings, conf, settings_doc
from config.checks import require_choice

ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = re.compile(r"^(GARDEN|RECOMMEND|DISPLAY|SCREENS|INSIGHTS)_[A-Z0-9_]+$")
READERS = {"require_choice", "require_at_least"}  # config.checks: their first argument names a setting


def declarations() -> list[appsettings.Setting]:
    return [setting for group in settings_doc.groups(settings.INSTALLED_APPS) for setting in group.settings]


def project_sources() -> list[Path]:
    packages = ["config", *(app for app in settings.INSTALLED_APPS if (ROOT / app / "__init__.py").exists())]
    return [path for package in packages for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


def names_read(tree: ast.AST) -> set[str]:
    """``settings.NAME``, ``getattr(settings, "NAME"…)`` and ``require_choice("NAME", …)``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings":
            found.add(node.attr)
        elif isinstance(node, ast.Call) and _is_getattr(node):
            found.add(node.args[1].value)
        elif isinstance(node, ast.Call) and _function(node) in READERS and node.args and isinstance(node.args[0], ast.Constant):
            found.add(node.args[0].value)
    return {name for name in found if isinstance(name, str) and PROJECT_NAME.match(name)}


def _function(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def _is_getattr(node: ast.Call) -> bool:
    return (
        isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "settings"
        and isinstance(node.args[1], ast.Constant)
    )


def test_every_setting_the_code_reads_is_declared():
    available = {setting.name for setting in conf.SETTINGS} | set(project_settings.apps)
    missing = {}
    for path in project_sources():
        for name in names_read(ast.parse(path.read_text(), str(path))) - available:
            missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"read but declared in no conf.py: {missing}"


def test_the_scan_finds_what_the_code_reads():
    # A guard on the test above: its scan sees the three ways code names a setting.
    tree = ast.parse('settings.GARDEN_A\ngetattr(settings, "RECOMMEND_B", 1)\nrequire_choice("SCREENS_C", [])\nother.GARDEN_D')
    assert names_read(tree) == {"GARDEN_A", "RECOMMEND_B", "SCREENS_C"}


def test_each_setting_is_declared_once_with_a_description_and_a_conforming_variable():
    declared = declarations()
    names = [setting.name for setting in declared]
    assert len(names) == len(set(names)), sorted({name for name in names if names.count(name) > 1})
    for setting in declared:
        assert setting.help.strip(), setting.name
        assert setting.var.startswith((appsettings.PREFIX, *appsettings.OWN_NAMES)), setting.var
        if setting.old_var:  # the prefix added, or a setting renamed (GARDEN_LIVE_BATCH_SIZE → GARDEN_GATHER_SIZE)
            assert setting.var == appsettings.PREFIX + setting.old_var or setting.old_var.startswith(appsettings.PREFIX)


def test_the_apps_settings_land_on_django_settings_under_their_own_names():
    for setting in declarations():
        if setting.on_settings and not setting.read_by:
            assert hasattr(settings, setting.name), setting.name
    assert settings.GARDEN_AI_LABEL["en"]  # derived by garden.conf
    assert isinstance(settings.GARDEN_GARDENER_FAVORITES, tuple)  # parsed by gardener.conf
    assert settings.CELERY_BEAT_SCHEDULE["recommend-rebuild"]["schedule"] == settings.RECOMMEND_REBUILD_MINUTES * 60.0


def test_config_loads_no_third_party_conf_module():
    # axes ships an axes/conf.py of its own: only the project's folders are read for declarations.
    assert appsettings.conf_module("axes") is None
    assert appsettings.conf_module("recommend").__name__ == "recommend.conf"


def test_a_former_variable_is_read_with_one_warning_and_the_new_one_wins(monkeypatch):
    declared = [appsettings.integer("RECOMMEND_EXAMPLE_COUNT", 3, "an example")]
    assert (declared[0].var, declared[0].old_var) == ("GARDEN_RECOMMEND_EXAMPLE_COUNT", "RECOMMEND_EXAMPLE_COUNT")
    monkeypatch.setenv("RECOMMEND_EXAMPLE_COUNT", "7")
    with pytest.warns(FutureWarning, match="RECOMMEND_EXAMPLE_COUNT is deprecated, use GARDEN_RECOMMEND_EXAMPLE_COUNT"):
        assert appsettings.read_settings(declared, environ.Env(), {}) == {"RECOMMEND_EXAMPLE_COUNT": 7}
    monkeypatch.setenv("GARDEN_RECOMMEND_EXAMPLE_COUNT", "9")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process: no second warning
        assert appsettings.read_settings(declared, environ.Env(), {}) == {"RECOMMEND_EXAMPLE_COUNT": 9}


def test_an_operators_old_environment_still_configures_the_app():
    code = "import django; django.setup(); from django.conf import settings as s; print(s.RECOMMEND_BACKEND, s.SCREENS_BEAT_SECONDS)"
    old_names = {"RECOMMEND_BACKEND": "popularity", "SCREENS_BEAT_SECONDS": "5", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **old_names})
    assert result.stdout.split() == ["popularity", "5.0"]
    assert "RECOMMEND_BACKEND is deprecated, use GARDEN_RECOMMEND_BACKEND" in result.stderr
    assert result.stderr.count("SCREENS_BEAT_SECONDS is deprecated") == 1


def test_docs_settings_md_is_what_bin_settings_doc_writes():
    assert settings_doc.PAGE.read_text() == settings_doc.render(settings.INSTALLED_APPS), (
        "docs/settings.md is stale: run `.venv/bin/python bin/settings-doc`"
    )


def test_the_page_documents_every_variable_once():
    page = settings_doc.PAGE.read_text()
    documented = re.findall(r"^\| `(\w+)` \|", page, re.M)
    assert sorted(documented) == sorted(setting.var for setting in declarations())


def test_a_start_up_check_names_the_variable_an_operator_sets(settings):
    settings.RECOMMEND_BACKEND = "locall"
    with pytest.raises(ImproperlyConfigured, match=r"^GARDEN_RECOMMEND_BACKEND='locall' is not a valid choice: use one of local"):
        require_choice("RECOMMEND_BACKEND", ["local", "popularity"])
