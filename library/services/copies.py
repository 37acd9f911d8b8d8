"""What each host holds (LibraryCopy rows), and the store's objects (LibraryEntry.stored_at).

A host's scan writes only that host's copies (``record_found``, ``drop``); an entry is lost only when
no fresh copy on another host and no stored object is left (``held_elsewhere``). The followers of a
host's folder look in every GARDEN_LIBRARY_SCAN_SECONDS (``heartbeat``): a host that stopped looking
(stopped, or renamed) has stale copies that keep nothing present. ``push_pending`` puts the files
this host holds and the store lacks into the store, once each.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from library import manifests, selectors
from library import store as model_store
from library.hosts import host_name
from library.models import LibraryCopy, LibraryEntry
from library.store import StoreError

log = logging.getLogger(__name__)


def record_found(entries: list[LibraryEntry], now) -> None:
    """This host's scan found these entries' files: its copies, seen now."""
    host = host_name()
    held = {copy.entry_id: copy for copy in LibraryCopy.objects.filter(host=host)}
    for entry in entries:
        copy = held.get(entry.pk)
        if copy is None:
            LibraryCopy.objects.create(entry=entry, host=host, path=entry.path, size_bytes=entry.size_bytes, seen_at=now)
        elif (copy.path, copy.size_bytes, copy.on_disk) != (entry.path, entry.size_bytes, True):
            LibraryCopy.objects.filter(pk=copy.pk).update(path=entry.path, size_bytes=entry.size_bytes, on_disk=True, seen_at=now)
    heartbeat(now)


def drop(entry: LibraryEntry) -> None:
    """This host's scan no longer finds the entry's file."""
    LibraryCopy.objects.filter(entry=entry, host=host_name()).delete()


def held_elsewhere(entry: LibraryEntry) -> bool:
    """Another host holds a fresh copy, or the store holds the file (with a store configured)."""
    if entry.stored_at is not None and model_store.enabled():
        return True
    return selectors.fresh_copies(entry.pk).exclude(host=host_name()).exists()


def heartbeat(now=None) -> None:
    """This host looked at its folder now (its copies are fresh)."""
    LibraryCopy.objects.filter(host=host_name()).update(seen_at=now or timezone.now())


def push_pending() -> list[str]:
    """Put into the store the files this host holds and the store lacks (names pushed). A store that
    cannot be reached is said in the log and tried again at the next look."""
    store = model_store.get()
    if store is None:
        return []
    pushed = []
    pending = (
        LibraryEntry.objects.filter(stored_at__isnull=True, copies__host=host_name(), copies__on_disk=True, present=True)
        .exclude(sha256="", manifest_sha256="")
        .distinct()
    )
    for entry in pending:
        try:
            if push(entry):
                pushed.append(entry.name)
        except (StoreError, OSError) as exc:
            log.warning("could not put %s into the model store %s: %s", entry.name, store, exc)
            break
    return pushed


def push(entry: LibraryEntry) -> bool:
    """Put one entry's file (on this host) into the store unless it is there; True when uploaded. A
    folder goes as its files by sha256 (those the store holds already, another folder's text encoder
    say, are not sent again), then its manifest, last: a stored manifest names stored files only."""
    store = model_store.get()
    if store is None or not entry.content_sha256:
        return False
    path = Path(settings.GARDEN_MODELS_DIR).expanduser() / entry.path
    uploaded = False
    for file, sha256 in _parts(entry, path):
        if store.stat(sha256) is None:
            store.put(file, sha256)
            uploaded = True
    if entry.manifest_sha256 and store.stat(entry.manifest_sha256) is None:
        with tempfile.TemporaryDirectory() as folder:
            written = Path(folder) / entry.manifest_sha256
            written.write_bytes(manifests.encode(entry.details["files"]))
            store.put(written, entry.manifest_sha256)
        uploaded = True
    if uploaded:
        log.info("put %s (sha256 %s) into the model store %s", entry.name, entry.content_sha256, store)
    LibraryEntry.objects.filter(pk=entry.pk).update(stored_at=timezone.now())
    return uploaded


def _parts(entry: LibraryEntry, path: Path) -> list[tuple[Path, str]]:
    """(file, sha256) of each distinct file the entry stores."""
    if not entry.manifest_sha256:
        return [(path, entry.sha256)]
    parts: dict[str, Path] = {}
    for relative, sha256, _ in entry.details.get("files") or []:
        parts.setdefault(sha256, path / relative)
    return [(file, sha256) for sha256, file in parts.items()]
