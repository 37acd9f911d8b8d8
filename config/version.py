"""The app's version: ``[project] version`` of pyproject.toml, the one place it is written.

The project is run from its checkout (not installed), so importlib.metadata does not know it;
the backup manifest and anything else that reports a version read it from here.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from config.caches import memoized

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@memoized(key="nothing", fresh="none: pyproject.toml as the process found it (a deploy starts new processes)")
def app_version() -> str:
    try:
        with PYPROJECT.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# What the pages the server sends are made of: a change to any of these is a new page version.
PAGE_SOURCES = ("templates", "*/static", "*/templates")


@memoized(key="nothing", fresh="none: the templates and static files as the process found them (a deploy starts new processes)")
def page_version() -> str:
    """The version of the pages this server sends: the app's version and a digest of every static
    file and template of the project, read once per process (a few ms).

    A screen's beat carries the version its page was rendered with; when the server's differs (a
    deploy), the page reloads itself at its next idle moment (docs/fleet.md). A deploy that changes
    only Python code leaves the pages alone.
    """
    root = PYPROJECT.parent
    digest = hashlib.sha256()
    for pattern in PAGE_SOURCES:
        for folder in sorted(root.glob(pattern)):
            # The apps' folders (a package beside them), not a collected STATIC_ROOT under var/.
            if not folder.is_dir() or (folder.parent != root and not (folder.parent / "__init__.py").is_file()):
                continue
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return f"{app_version()}+{digest.hexdigest()[:10]}"
