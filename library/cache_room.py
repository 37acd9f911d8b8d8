"""Room in a host's models folder (library.cache's bounded copy): reservations and eviction.

Before a fetch, room is made under GARDEN_MODELS_CACHE_GB and the disk's free space: the least
recently used copies that the store holds and no process uses are removed (``make_room``). A
process uses a file while it holds a shared lock on its marker (``.garden/use/<sha>``,
library.cache.use); a file being fetched holds its exclusive lock (``.garden/locks/<sha>.lock``).
Both are taken here without waiting, so eviction never removes what a worker has loaded or is
writing. A fetch's temporary file is created at its full length as the host's reservation. Nothing
to remove: ``CacheFull``, a job failure that says so. Evicting a folder removes it and the blobs
(``.garden/blobs/<sha256>``) no other folder of this host links.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from config.errors import DomainError
from library import manifests
from library.hosts import host_name
from library.models import LibraryCopy

log = logging.getLogger(__name__)

WORK = ".garden"  # a dot-folder: scans and fingerprints leave it out


class CacheFull(DomainError):
    """This host's models folder has no room for a model and nothing it may remove."""


def root() -> Path:
    return Path(settings.GARDEN_MODELS_DIR).expanduser()


def work(name: str) -> Path:
    folder = root() / WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def flock(path: Path, mode: int) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _try_exclusive(path: Path) -> int | None:
    """An fd holding ``path``'s exclusive lock, or None when a process holds it (shared or not)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def blob(sha256: str) -> Path:
    """Where a folder's file is kept on this host, by its sha256 (linked from the folders that hold it)."""
    return work("blobs") / sha256


# --- room -----------------------------------------------------------------------------------------


def reserve_all(sizes: dict[str, int]) -> dict[str, Path]:
    """Room for every one of these files at once, then each one's temporary file at its length."""
    temporaries: dict[str, Path] = {}
    with flock(work("locks") / "room.lock", fcntl.LOCK_EX):
        make_room(sum(sizes.values()))
        try:
            for sha256, size in sizes.items():
                temporaries[sha256] = work("tmp") / f"{sha256}.{os.getpid()}.{uuid.uuid4().hex}.incomplete"
                with open(temporaries[sha256], "wb") as out:
                    out.truncate(size)
        except OSError as exc:
            for temporary in temporaries.values():
                temporary.unlink(missing_ok=True)
            raise CacheFull(f"cannot reserve {sum(sizes.values())} bytes in {root()} on host {host_name()}: {exc}") from None
    return temporaries


def reserve(sha256: str, size: int) -> Path:
    """Room for ``size`` bytes (removing what may be removed), then the temporary file at that length."""
    with flock(work("locks") / "room.lock", fcntl.LOCK_EX):
        make_room(size)
        temporary = work("tmp") / f"{sha256}.{os.getpid()}.{uuid.uuid4().hex}.incomplete"
        try:
            with open(temporary, "wb") as out:
                out.truncate(size)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise CacheFull(f"cannot reserve {size} bytes in {root()} on host {host_name()}: {exc}") from None
        return temporary


def used_bytes() -> int:
    """What this host's copies, its folders' blobs and the fetches under way take (the fetches at
    their full length; a file linked from a blob into a folder counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0

    def count(path: Path) -> None:
        nonlocal total
        with contextlib.suppress(OSError):
            stat = path.stat()
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size

    for relative in LibraryCopy.objects.filter(host=host_name(), on_disk=True).values_list("path", flat=True):
        path = root() / relative
        for file in manifests.files_of(path) if path.is_dir() else [path]:
            count(file)
    for file in work("blobs").iterdir():
        count(file)
    for temporary in work("tmp").glob("*.incomplete"):
        count(temporary)
    return total


def limit_bytes() -> int:
    return int(float(settings.GARDEN_MODELS_CACHE_GB) * 1e9)


def _short(need: int) -> int:
    """How many bytes must go before ``need`` more fit (the bound, and the disk's free space)."""
    short = max(0, need - shutil.disk_usage(root()).free)
    if limit_bytes() > 0:
        short = max(short, used_bytes() + need - limit_bytes())
    return short


def make_room(need: int) -> list[str]:
    """Remove least recently used copies (stored, unused, not being fetched) until ``need`` bytes fit;
    the names removed. CacheFull when they do not fit once nothing more may be removed."""
    removed: list[str] = []
    if _short(need) <= 0:
        return removed
    for copy in _candidates():
        if _short(need) <= 0:
            break
        if _evict(copy):
            removed.append(copy.entry.name)
    if _short(need) > 0:
        limit = f"GARDEN_MODELS_CACHE_GB={settings.GARDEN_MODELS_CACHE_GB}" if limit_bytes() else "the disk"
        raise CacheFull(
            f"no room for {need / 1e9:.2f} GB on host {host_name()} ({limit}, {used_bytes() / 1e9:.2f} GB of models here): "
            "every model left is in use, being fetched or not in the store yet. Raise GARDEN_MODELS_CACHE_GB or free disk."
        )
    if removed:
        log.info("removed %s from host %s's models folder to make room", ", ".join(removed), host_name())
    return removed


def _candidates() -> list[LibraryCopy]:
    """This host's copies of stored files, least recently used first (the use marker's time)."""
    copies = list(
        LibraryCopy.objects.filter(host=host_name(), on_disk=True, entry__stored_at__isnull=False)
        .exclude(entry__sha256="", entry__manifest_sha256="")
        .select_related("entry")
    )

    def last_used(copy: LibraryCopy) -> float:
        try:
            return (root() / WORK / "use" / copy.entry.content_sha256).stat().st_mtime
        except OSError:
            return copy.last_used.timestamp() if copy.last_used else 0.0

    return sorted(copies, key=last_used)


def _evict(copy: LibraryCopy) -> bool:
    """Remove one copy unless a process uses it or fetches it (locks taken without waiting)."""
    sha256 = copy.entry.content_sha256
    in_use = _try_exclusive(work("use") / sha256)
    if in_use is None:
        return False
    fetching = _try_exclusive(work("locks") / f"{sha256}.lock")
    try:
        if fetching is None:
            return False
        path = root() / copy.path
        if path.is_dir():
            shutil.rmtree(path)
            for kept in map(blob, manifests.blobs((copy.entry.details or {}).get("files") or [])):
                with contextlib.suppress(OSError):
                    if kept.stat().st_nlink == 1:  # no other folder of this host links it
                        kept.unlink()
        else:
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".source.json").unlink(missing_ok=True)
        LibraryCopy.objects.filter(pk=copy.pk).update(on_disk=False, seen_at=timezone.now())
        return True
    finally:
        os.close(in_use)
        if fetching is not None:
            os.close(fetching)
