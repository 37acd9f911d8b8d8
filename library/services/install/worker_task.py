"""The admin's "Install a model": the install queued on a worker (generation.tasks.install_model),
which reports its progress and outcome into a status file (library.services.install.progress_reports)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from library.services.install.errors import FORM, InstallError, NoLibrary
from library.services.install.installer import install, resolve_starter
from library.services.install.progress_reports import StatusReporter

INSTALL_TASK = "generation.tasks.install_model"
INSTALL_OPTIONS = ("name", "kind", "revision", "subfolder", "variant", "sha256", "force", "classes", "input_size", "color")

logger = logging.getLogger(__name__)


def request_install(source: str, **options: Any) -> str:
    """Queue an install on a worker (the default queue, where the models folder is writable); its id.

    The worker reports progress into ``.incoming/install-<id>.json`` (read_status). The message is
    acknowledged when a worker takes it: an install cut by a lost worker is not run again by itself;
    installing the same source again resumes its download.
    """
    import uuid

    from celery import current_app

    unknown = set(options) - set(INSTALL_OPTIONS)
    if unknown:
        raise InstallError(f"unknown install options: {', '.join(sorted(unknown))}")
    from django.conf import settings

    if not settings.GARDEN_MODELS_DIR:
        raise NoLibrary()
    if not source.strip():
        raise InstallError("Name what to install: a Hub repo id, a URL, a path on the worker, or a starter model.")
    install_id = uuid.uuid4().hex
    try:
        current_app.tasks[INSTALL_TASK].apply_async(args=[install_id, source.strip(), options], queue="default")
    except Exception as exc:  # the broker is down or unreachable
        raise InstallError(f"could not queue the install: {type(exc).__name__}: {exc}") from None
    return install_id


def run_install(install_id: str, source: str, options: dict) -> None:
    """The worker task's body: install, reporting progress and the outcome into the status file.
    With no library (a message queued before GARDEN_MODELS_DIR was emptied) it is logged and dropped:
    there is no staging folder to report in, and nothing is written anywhere else."""
    from django.conf import settings

    if not settings.GARDEN_MODELS_DIR:
        logger.warning("install %s of %s dropped: %s", install_id, source, NoLibrary())
        return
    source, kind, name, variant = resolve_starter(
        source, kind=options.get("kind", ""), name=options.get("name", ""), variant=options.get("variant", "")
    )
    options = {**{key: value for key, value in options.items() if key in INSTALL_OPTIONS}, "kind": kind, "name": name, "variant": variant}
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    reporter = StatusReporter(install_id, source=source, started_at=started)
    reporter.write(state="running", done=0, total=None, what="")
    try:
        installed = install(source, progress=reporter, **options)
    except InstallError as exc:
        reporter.write(state="failed", message=exc.worded(FORM))  # the admin's page shows it beside its form
        return
    except Exception as exc:
        reporter.write(state="failed", message=f"{type(exc).__name__}: {exc}")
        raise
    message = f"installed {installed.what}"
    if installed.sha256:
        message += f", sha256 {installed.sha256}"
    reporter.write(
        state="done",
        done=installed.size,
        total=installed.size,
        message=message,
        entry=getattr(installed.entry, "name", ""),
        note=installed.scan_note,
        settings_lines=installed.settings_lines,
    )
