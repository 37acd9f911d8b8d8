"""The app's version: ``[project] version`` of pyproject.toml, the one place it is written.

The project is run from its checkout (not installed), so importlib.metadata does not know it;
the backup manifest and anything else that reports a version read it from here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@cache
def app_version() -> str:
    try:
        with PYPROJECT.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"
