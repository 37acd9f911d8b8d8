"""A local file or folder, copied into the staging folder (the source stays where it is)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from library.services.install import staging
from library.services.install.errors import InstallError
from library.services.install.progress_reports import Progress
from library.services.install.staging import Fetched, check_free_space, check_sha256, is_disk_full, remove


def copy_local(path: Path, folder: Path, *, expected: str, progress: Progress) -> Fetched:
    """Copy a local file (hashing it as it goes) or folder into the staging folder."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    target = folder / f"{key}.local"
    remove(target)
    try:
        if path.is_dir():
            return _copy_folder(path, target, progress)
        total = path.stat().st_size
        check_free_space(folder, total, str(path))
        digest = hashlib.sha256()
        done = 0
        progress(0, total, path.name)
        with path.open("rb") as source, target.open("wb") as out:
            for chunk in iter(lambda: source.read(staging.CHUNK), b""):
                staging.write_chunk(out, chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(done, total, path.name)
    except OSError as exc:
        remove(target)
        if is_disk_full(exc):
            raise InstallError(f"disk full while copying {path.name} into {folder.parent}: free some space and install again.") from None
        raise InstallError(f"cannot copy {path}: {exc}.") from None
    sha = digest.hexdigest()
    check_sha256(expected, sha, target)
    return Fetched(target, path.name, sha256=sha, size=done)


def _copy_folder(path: Path, target: Path, progress: Progress) -> Fetched:
    """A folder, copied whole but for an earlier install's record and huggingface_hub's cache."""
    total = sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    check_free_space(target.parent, total, str(path))
    progress(0, total, path.name)
    done = 0

    def copy(src: str, dst: str) -> None:
        nonlocal done
        shutil.copy2(src, dst)
        done += os.path.getsize(dst)
        progress(done, total, path.name)

    shutil.copytree(path, target, copy_function=copy, ignore=shutil.ignore_patterns(".source.json", ".cache"))
    return Fetched(target, path.name, size=total)
