"""Each host's copy of the library: GARDEN_MODELS_DIR as a bounded cache of the store (docs/models.md#several-machines).

``local_path(entry)`` is what a worker asks before it loads a library file. Without a store
(GARDEN_MODELS_STORE empty) it is the file under GARDEN_MODELS_DIR, as always. With one, a file
this host lacks is fetched by its sha256:

- one download per file per host: an exclusive lock per sha256 (``.garden/locks/<sha>.lock``),
  the file looked for again once the lock is held;
- into a process-unique temporary file (``.garden/tmp/<sha>.<pid>.<uuid>.incomplete``, created at
  its full length as the host's reservation), hashed as it arrives, then renamed into place; a
  hash that differs is discarded and fetched once more; a sidecar records the hash so that the
  host's next scan does not hash it again;
- room is made first under GARDEN_MODELS_CACHE_GB (and the disk's free space) by library.cache_room:
  the least recently used copies that the store holds and no process uses are removed. A process
  uses a file while it holds a shared lock on its marker (``.garden/use/<sha>``, ``use``): it keeps
  those of the last ``KEEP_USES`` files it asked for (the models it may hold or be loading).
  Nothing to remove: ``CacheFull``, a job failure that says so.

A diffusers folder (an entry with a manifest: library.manifests) is fetched as its files: each
distinct file once into ``.garden/blobs/<sha256>`` (the same lock, reservation, hash check and
rename as a single file), then the folder is rebuilt beside the others from hard links to the blobs
(copies where links cannot be made) in a temporary folder and moved into place with one rename, so
diffusers' ``from_pretrained`` reads a whole folder or none. Two folders sharing a component share
its blob on the host too.

This is the one door to a library file for code outside library/ (tests/config/test_boundaries.py):
a file this host lacks and the store does not hold yet is ``StoreUnavailable``, never a path to
nothing. ``StoreUnavailable`` (the store away) is left to the caller: a job waits and tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from library import cache_room as room
from library import manifests
from library import store as model_store
from library.cache_room import WORK, CacheFull, limit_bytes, make_room, used_bytes  # noqa: F401 (the door's names: runner, tests)
from library.hosts import host_name
from library.models import LibraryCopy, LibraryEntry
from library.store import StoreCorrupt, StoreMissing, StoreUnavailable

log = logging.getLogger(__name__)

KEEP_USES = 4
FETCH_TRIES = 2  # a corrupt download is discarded and fetched once more
UNAVAILABLE_TRIES = 3  # the store away: tried again after 1 s and 2 s, then the job waits (runner)
SMALL_BLOB = model_store.PART_BYTES  # a folder's file of one GET: fetched a few at a time beside the large ones
SMALL_AT_ONCE = 8
Progress = Callable[[int, int], None]


# --- uses -----------------------------------------------------------------------------------------

_uses: OrderedDict[str, int] = OrderedDict()  # sha256 → fd holding the marker's shared lock (this process)


def use(sha256: str) -> None:
    """Mark the file as used by this process (a shared lock it keeps while the file is among its
    last KEEP_USES) and as just used (the marker's time: the host's LRU order)."""
    marker = room.work("use") / sha256
    if sha256 in _uses:
        _uses.move_to_end(sha256)
    else:
        fd = os.open(marker, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        _uses[sha256] = fd
        while len(_uses) > KEEP_USES:
            _, old = _uses.popitem(last=False)
            os.close(old)  # the lock goes with the last descriptor
    os.utime(marker)


def release_all() -> None:
    """Let go of this process's uses (tests; a worker shutting down lets go by exiting)."""
    while _uses:
        os.close(_uses.popitem()[1])


# --- the copy a job needs -------------------------------------------------------------------------


def local_path(entry: LibraryEntry, progress: Progress | None = None) -> Path:
    """The entry's file or folder on this host, fetched from the store first when this host lacks it."""
    path = room.root() / entry.path
    store = model_store.get()
    if store is None:  # the one-folder library: the scan and why_unusable speak for the file
        return path
    if not settings.GARDEN_MODELS_DIR:  # no models folder here: never fetch into the working directory
        raise CacheFull(f"{entry.name} is not on host {host_name()}: GARDEN_MODELS_DIR is empty here, so there is nowhere to fetch it to")
    key = entry.content_sha256
    if not key:  # not hashed yet (still being written somewhere): only the host that has it can use it
        if path.exists():
            return path
        raise StoreUnavailable(f"{entry.name} is not on host {host_name()} and not in the model store yet (not hashed yet)")
    with contextlib.suppress(OSError):  # a read-only folder (a one-machine stack's GPU workers): nothing is removed there
        use(key)
    manifest = _manifest(entry)
    if not _whole(path, entry, manifest):
        try:
            with room.flock(room.work("locks") / f"{key}.lock", fcntl.LOCK_EX):
                if not _whole(path, entry, manifest):
                    if manifest is None:
                        _fetch(store, entry, path, progress)
                    else:
                        _fetch_folder(store, entry, manifest, path, progress)
        except OSError as exc:
            raise CacheFull(f"cannot fetch {entry.name} into {room.root()} on host {host_name()}: {exc}") from None
    _record(entry, path)
    return path


def embedding_paths(prompt: str, progress: Progress | None = None) -> list[tuple[str, str]]:
    """``[(name, path on this host), …]`` of the embeddings a prompt names, each through ``local_path``."""
    from library.selectors import embeddings_in

    return [(entry.name, str(local_path(entry, progress))) for entry in embeddings_in(prompt)]


def _manifest(entry: LibraryEntry) -> manifests.Manifest | None:
    if not entry.manifest_sha256:
        return None
    files = (entry.details or {}).get("files")
    if not isinstance(files, list) or manifests.digest_of(files) != entry.manifest_sha256:
        raise StoreCorrupt(f"{entry.name}'s manifest in the library is not the one its sha256 names: rescan the host that has it")
    return files


def _whole(path: Path, entry: LibraryEntry, manifest: manifests.Manifest | None = None) -> bool:
    try:
        if manifest is None:
            return path.is_file() and path.stat().st_size == entry.size_bytes
        return path.is_dir() and all((path / relative).stat().st_size == size for relative, _, size in manifest)
    except OSError:
        return False


def _fetch_folder(store, entry: LibraryEntry, manifest: manifests.Manifest, path: Path, progress: Progress | None) -> None:
    """Each file this host lacks into the blobs, then the folder rebuilt from them with one rename.
    Room is made for all of them at once; the large files come one after the other (each with its
    parallel ranged GETs, reporting progress), the small ones (configs, tokenizers) a few at a time
    beside them (one GET each)."""
    started, sizes = time.monotonic(), manifests.blobs(manifest)
    total = sum(sizes.values())
    missing = {sha256: size for sha256, size in sizes.items() if not _blob_whole(room.blob(sha256), size)}
    done = total - sum(missing.values())
    temporaries = room.reserve_all(missing)
    try:
        small = [sha256 for sha256, size in missing.items() if size <= SMALL_BLOB]
        with ThreadPoolExecutor(SMALL_AT_ONCE, thread_name_prefix="model-fetch-small") as pool:
            pending = [pool.submit(_fetch_blob, store, entry, sha256, missing[sha256], temporaries[sha256], None) for sha256 in small]
            for sha256, size in missing.items():
                if size > SMALL_BLOB:
                    report = None if progress is None else (lambda d, t, b=done: progress(b + d, total))
                    _fetch_blob(store, entry, sha256, size, temporaries[sha256], report)
                    done += size
            for future in pending:
                future.result()
        if progress is not None:
            progress(total, total)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    staging = room.work("tmp") / f"{entry.manifest_sha256}.{os.getpid()}.{uuid.uuid4().hex}.folder"
    try:
        for relative, sha256, _ in manifest:
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(room.blob(sha256), target)
            except OSError:  # another file system, or links refused: a copy
                shutil.copyfile(room.blob(sha256), target)
        if entry.source:  # where it came from, as the installing host's sidecar says (the manifest leaves dot-files out)
            (staging / ".source.json").write_text(json.dumps({"source": entry.source, "manifest_sha256": entry.manifest_sha256}))
        if path.exists():  # a part of it (a copy cut short): replaced whole
            aside = room.work("tmp") / f"{entry.manifest_sha256}.{os.getpid()}.{uuid.uuid4().hex}.replaced"
            os.replace(path, aside)
            shutil.rmtree(aside, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifests.remember(room.root(), entry.path, manifest)  # this host's scan knows it without hashing it
    seconds = time.monotonic() - started
    log.info("fetched %s (%s files, %s bytes) onto host %s in %.2f s", entry.name, len(manifest), total, host_name(), seconds)


def _blob_whole(blob: Path, size: int) -> bool:
    try:
        return blob.stat().st_size == size
    except OSError:
        return False


def _fetch_blob(store, entry: LibraryEntry, sha256: str, size: int, temporary: Path, progress: Progress | None) -> None:
    """One file of a folder into this host's blobs (its reservation made), once per host."""
    blob = room.blob(sha256)
    with room.flock(room.work("locks") / f"{sha256}.lock", fcntl.LOCK_EX):
        if _blob_whole(blob, size):  # another process fetched it meanwhile
            return
        try:
            _fetch_checked(store, entry, sha256, temporary, progress)
        except StoreMissing:
            raise StoreUnavailable(f"the model store {store} holds no file {sha256} of {entry.name} yet") from None
        os.replace(temporary, blob)


def _fetch_checked(store, entry: LibraryEntry, sha256: str, temporary: Path, progress: Progress | None) -> None:
    """One fetch, hash checked; a corrupt one discarded and fetched once more."""
    for attempt in range(1, FETCH_TRIES + 1):
        try:
            _retrying(lambda: store.fetch(sha256, temporary, progress))
            return
        except StoreCorrupt:
            log.warning("fetching %s: not the file its sha256 names, discarded (try %s)", entry.name, attempt)
            if attempt == FETCH_TRIES:
                raise
        except OSError as exc:
            raise CacheFull(f"cannot write {entry.name} into {room.root()} on host {host_name()}: {exc}") from None


def _fetch(store, entry: LibraryEntry, path: Path, progress: Progress | None) -> None:
    started = time.monotonic()
    stored = _stat(store, entry.sha256)
    if stored is None:
        raise StoreUnavailable(f"the model store {store} holds no file for {entry.name} (sha256 {entry.sha256}) yet")
    temporary = room.reserve(entry.sha256, stored.size)
    try:
        _fetch_checked(store, entry, entry.sha256, temporary, progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        stat = temporary.stat()
        sidecar = {"source": entry.source, "sha256": entry.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        path.with_name(path.name + ".source.json").write_text(json.dumps(sidecar))
        os.replace(temporary, path)
        seconds = time.monotonic() - started  # fetch, hash, rename: what a job waits for (bench/library_two_hosts.py)
        log.info("fetched %s (%s bytes) from the model store onto host %s in %.2f s", entry.name, stored.size, host_name(), seconds)
    finally:
        temporary.unlink(missing_ok=True)


def _stat(store, sha256: str):
    return _retrying(lambda: store.stat(sha256))


def _retrying(call):
    for attempt in range(UNAVAILABLE_TRIES):
        try:
            return call()
        except StoreUnavailable:
            if attempt == UNAVAILABLE_TRIES - 1:
                raise
            time.sleep(2**attempt)
    return None


def _record(entry: LibraryEntry, path: Path) -> None:
    now = timezone.now()
    LibraryCopy.objects.update_or_create(
        entry=entry,
        host=host_name(),
        defaults={"path": entry.path, "size_bytes": entry.size_bytes, "on_disk": True, "last_used": now, "seen_at": now},
    )
