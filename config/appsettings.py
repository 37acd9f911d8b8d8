"""Typed declarations of the settings read from the environment, and their collection.

Each setting is declared once, beside the code that reads it: ``config/conf.py`` holds the core
(Django, database, cache, broker, storage, security), ``<app>/conf.py`` an app's own, each a list
``SETTINGS`` of ``Setting``. ``config/settings.py`` reads them onto ``django.conf.settings`` under
their names, and ``bin/settings-doc`` writes docs/settings.md from the same lists.

The naming rule: every variable starts with ``GARDEN_``, except Django's own (``DJANGO_``) and the
connection settings other tools name the same way (``DATABASE_*``, ``CACHE_URL``, ``CELERY_*``).
A setting whose name lacks the prefix (``RECOMMEND_BACKEND``) is read from ``GARDEN_<name>``; its
old variable still works, with a warning at start-up, until the next release.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import environ

PREFIX = "GARDEN_"
# Variables named by the software that reads them, or by convention: kept as they are.
OWN_NAMES = ("DJANGO_", "DATABASE_", "CACHE_URL", "CELERY_", "PROMETHEUS_")
BASE_DIR = Path(__file__).resolve().parent.parent
# The value types a variable can have: how each is read, and its name in the docs.
READERS: dict[type, str] = {str: "str", int: "int", float: "float", bool: "bool", list: "list", Path: "str"}
TYPE_NAMES: dict[type, str] = {str: "text", int: "integer", float: "number", bool: "true/false", list: "list", Path: "path"}

Default = Any  # a value, or a function of the values read before it (``values["VAR_DIR"]``)


@dataclass(frozen=True)
class Setting:
    """One setting: the name code reads on ``django.conf.settings``, and the variable it comes from."""

    name: str
    type: type
    default: Default
    help: str
    var: str = ""  # the environment variable; by the naming rule when left out
    old_var: str = ""  # a former variable, still read with a deprecation warning
    shown_default: str = ""  # the default as the docs say it, when it is computed
    parse: Callable[[Any], Any] | None = None  # turns the read value into the setting's value
    on_settings: bool = True  # False: config/settings.py uses it to build others (DATABASE_URL → DATABASES)
    read_by: str = ""  # another program reads it (the Procfile, the tests): documented, never read here

    def __post_init__(self) -> None:
        if self.type not in READERS:
            raise TypeError(f"{self.name}: unsupported type {self.type!r}")
        if not self.var:
            renamed = not self.name.startswith((PREFIX, *OWN_NAMES))
            object.__setattr__(self, "var", PREFIX + self.name if renamed else self.name)
            if renamed and not self.old_var:
                object.__setattr__(self, "old_var", self.name)

    def default_for(self, values: Mapping[str, Any]) -> Any:
        return self.default(values) if callable(self.default) else self.default

    def read(self, env: environ.Env, values: Mapping[str, Any]) -> Any:
        var = self.var
        if self.old_var and self.old_var in os.environ:
            warn_renamed(self.old_var, self.var)
            if self.var not in os.environ:
                var = self.old_var
        default = self.default_for(values)
        reader = getattr(env, READERS[self.type])
        value = reader(var, default=str(default) if self.type is Path else default)
        if self.type is Path:
            value = Path(value)
        return self.parse(value) if self.parse else value


def _declare(kind: type) -> Callable[..., Setting]:
    def declare(name: str, default: Default, help: str, **options: Any) -> Setting:
        return Setting(name, kind, default, help, **options)

    declare.__name__ = kind.__name__
    return declare


text, integer, number, flag, names, path = (_declare(kind) for kind in (str, int, float, bool, list, Path))

_warned: set[str] = set()
# Every setting read in this process, by name: start-up checks name the variable an operator sets.
DECLARED: dict[str, Setting] = {}


def variable_of(name: str) -> str:
    """The environment variable a setting is read from (``RECOMMEND_BACKEND`` → ``GARDEN_RECOMMEND_BACKEND``)."""
    return DECLARED[name].var if name in DECLARED else name


def warn_renamed(old: str, new: str) -> None:
    """Once per process: a FutureWarning is shown by default, to operators as well as developers."""
    if old not in _warned:
        _warned.add(old)
        warnings.warn(f"{old} is deprecated, use {new}; the old name is read until the next release.", FutureWarning, stacklevel=4)


def read_settings(declared: Iterable[Setting], env: environ.Env, values: Mapping[str, Any]) -> dict[str, Any]:
    """Each declared setting's value, in order: a computed default sees the ones read before it."""
    known, read = dict(values), {}
    for setting in declared:
        if setting.read_by:
            continue
        known[setting.name] = read[setting.name] = setting.read(env, known)
        DECLARED[setting.name] = setting
    return read


def conf_module(app: str) -> ModuleType | None:
    """``<app>.conf`` of an app of this project, a folder beside config/ (third-party apps are skipped:
    axes has a conf module of its own)."""
    spec = importlib.util.find_spec(app.partition(".")[0])
    if spec is None or not spec.origin or Path(spec.origin).parent.parent != BASE_DIR:
        return None
    if importlib.util.find_spec(f"{app}.conf") is None:
        return None
    return importlib.import_module(f"{app}.conf")


def app_conf_modules(installed_apps: Iterable[str]) -> list[ModuleType]:
    return [module for app in installed_apps if (module := conf_module(app)) is not None]


def collect_app_settings(installed_apps: Iterable[str], env: environ.Env, values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of every installed app of the project, in INSTALLED_APPS order, with those each
    app derives from its own (``derive(values)`` in its conf module)."""
    known, collected = dict(values), {}
    for module in app_conf_modules(installed_apps):
        read = read_settings(module.SETTINGS, env, known)
        on_settings = {setting.name for setting in module.SETTINGS if setting.on_settings}
        found = {name: value for name, value in read.items() if name in on_settings}
        if derive := getattr(module, "derive", None):
            found.update(derive({**known, **read}))
        known.update(read)
        known.update(found)
        collected.update(found)
    return collected
