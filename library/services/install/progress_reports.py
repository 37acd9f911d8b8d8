"""How an install reports its progress: the callback every fetch calls, and the status files a
worker's install writes for the admin's page to read (``.incoming/install-<id>.json``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from library.services.install.errors import InstallError, NoLibrary
from library.services.install.staging import STAGING

Progress = Callable[[int, "int | None", str], None]  # (bytes done, bytes in all or None, what)
STATUS_EVERY_SECONDS = 1.0
STALLED_AFTER_SECONDS = 300


def no_progress(done: int, total: int | None, what: str) -> None:
    pass


def status_path(install_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", install_id):
        raise InstallError("unknown install")
    if not settings.GARDEN_MODELS_DIR:  # Path("") / ".incoming" would be a stray folder in the working directory
        raise NoLibrary()
    return Path(settings.GARDEN_MODELS_DIR).expanduser() / STAGING / f"install-{install_id}.json"


def read_status(install_id: str) -> dict | None:
    """What the worker last wrote of an install (state, bytes, message), None before it started."""
    try:
        return json.loads(status_path(install_id).read_text())
    except (OSError, ValueError, InstallError):
        return None


def write_status(install_id: str, **status: Any) -> None:
    """Written by the worker into the staging folder, which web processes read (their mount may be
    read-only); replaced atomically, so a reader never sees half a file."""
    path = status_path(install_id)
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**status, "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
    os.replace(temporary, path)


class StatusReporter:
    """A Progress callback that writes the running install's status file, at most once a second
    (and at the last byte): the admin's page polls it, a write per chunk would be wasted."""

    def __init__(self, install_id: str, **base: Any) -> None:
        self.install_id, self.base, self.last = install_id, base, 0.0

    def __call__(self, done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if now - self.last >= STATUS_EVERY_SECONDS or (total is not None and done >= total):
            self.last = now
            self.write(state="running", done=done, total=total, what=what)

    def write(self, **status: Any) -> None:
        write_status(self.install_id, **self.base, **status)


def recent_statuses(limit: int = 10) -> list[dict]:
    """The last installs the worker reported, newest first (for the admin's page)."""
    if not settings.GARDEN_MODELS_DIR:
        return []
    folder = Path(settings.GARDEN_MODELS_DIR).expanduser() / STAGING
    try:
        paths = sorted(folder.glob("install-*.json"), key=lambda path: path.stat().st_mtime, reverse=True)[:limit]
    except OSError:
        return []
    found = []
    now = dt.datetime.now(dt.UTC)
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            status = {"id": path.stem.removeprefix("install-"), **json.loads(path.read_text())}
            updated = dt.datetime.fromisoformat(status.get("updated_at", now.isoformat()))
            if status.get("state") == "running" and (now - updated).total_seconds() > STALLED_AFTER_SECONDS:
                # Reports come every second while bytes arrive: its worker is gone (or the network hangs).
                status["state"] = "stalled"
                status["message"] = "no report for minutes: its worker stopped; install it again to resume the download"
            found.append(status)
    return found
