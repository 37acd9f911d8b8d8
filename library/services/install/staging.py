"""The staging folder ``GARDEN_MODELS_DIR/.incoming/`` and what a fetch leaves there.

Everything an install writes lands here first (the scan skips dot-folders, so nothing here is ever
an entry), is checked, and only then moved into the library (library.services.install.placement).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from library.services.install.errors import InstallError

STAGING = ".incoming"
CHUNK = 1 << 20  # 1 MiB: the read, write and hash unit


def models_root() -> Path:
    if not settings.GARDEN_MODELS_DIR:
        raise InstallError("GARDEN_MODELS_DIR is empty: set it to the models folder to install models into.")
    root = Path(settings.GARDEN_MODELS_DIR).expanduser()
    if not root.is_dir():
        raise InstallError(f"GARDEN_MODELS_DIR ({root}) is not a folder: create it first.")
    if not os.access(root, os.W_OK):
        raise InstallError(f"GARDEN_MODELS_DIR ({root}) is not writable here: install where the models folder is mounted writable.")
    return root


def staging_root() -> Path:
    folder = models_root() / STAGING
    folder.mkdir(exist_ok=True)
    return folder


@dataclass
class Fetched:
    """What a fetch left in the staging folder: one file or one folder, with what is known of it."""

    path: Path
    filename: str  # the name it should have (a URL's Content-Disposition or path; a local name)
    sha256: str = ""
    size: int = 0
    revision: str = ""
    extra: list[Path] = field(default_factory=list)  # other staging files to remove afterwards

    @property
    def is_file(self) -> bool:
        return self.path.is_file()

    def discard(self) -> None:
        remove(self.path, *self.extra)


def remove(*paths: Path) -> None:
    """Remove staged files and folders; those already gone are fine."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


@contextlib.contextmanager
def one_install_at_a_time(lock: Path, what: str) -> Iterator[None]:
    """One install of the same source at a time (they would write the same staging file)."""
    import fcntl

    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InstallError(f"{what} is being installed already; wait for that install to end.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


@contextlib.contextmanager
def named_with_suffix(path: Path, suffix: str) -> Iterator[Path]:
    """The staged file under a name ending in ``suffix`` (a hard link, else a copy), for readers that
    choose their format by the suffix (the scan's classification, the expression runtimes)."""
    named = path.with_name(path.name + suffix)
    try:
        os.link(path, named)
    except OSError:
        shutil.copy2(path, named)
    try:
        yield named
    finally:
        remove(named)


def write_chunk(out: BinaryIO, chunk: bytes) -> None:
    """One chunk to a staging file: the one place downloaded or copied bytes reach the disk (the
    disk-full test makes it raise ENOSPC)."""
    out.write(chunk)


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def check_free_space(folder: Path, needed: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InstallError(f"disk full: {what} needs {needed} bytes, {free} are free in {folder.parent}; nothing installed.")


def check_sha256(expected: str, got: str, *staged: Path) -> None:
    """Refuse (and remove the staged files) unless the sha256 is the one asked for (none: any)."""
    if expected and got != expected:
        remove(*staged)
        raise InstallError(f"checksum mismatch: expected sha256 {expected}, got {got}; nothing installed.")
