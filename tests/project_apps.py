"""The project's apps as the layers contract lists them (pyproject.toml, [tool.importlinter]
root_packages), without the packages that are no app but are listed for the contracts between
them: bench/, testkit/ and tests/. What reads the apps' source for a rule reads these."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_APPS = {"bench", "testkit", "tests"}
LISTED: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
APPS: list[str] = [package for package in LISTED if package not in NOT_APPS]
