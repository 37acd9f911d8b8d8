"""What each host holds (LibraryCopy rows), and the store's objects (LibraryEntry.stored_at).

A host's scan writes only that host's copies (``record_found``, ``drop``); an entry is lost only when
no fresh copy on another host and no stored object is left (``held_elsewhere``). The followers of a
host's folder look in every GARDEN_LIBRARY_SCAN_SECONDS (``heartbeat``): a host that stopped looking
(stopped, or renamed) has stale copies that keep nothing present. ``push_pending`` puts the files
this host holds and the store lacks into the store, once each.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from library import selectors
from library import store as model_store
from library.hosts import host_name
from library.models import LibraryCopy, LibraryEntry

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


def forget_stale_hosts() -> list[str]:
    """Drop the copies of the hosts that stopped looking (stopped for good, or renamed: its old
    name), which keep nothing present; a host that looks again records its copies anew. The hosts
    forgotten, by name ([] without following: then no copy is stale)."""
    since = selectors.fresh_since()
    if since is None:
        return []
    stale = LibraryCopy.objects.filter(seen_at__lt=since)
    hosts = sorted(set(stale.values_list("host", flat=True)))
    stale.delete()
    return hosts


def held_elsewhere(entry: LibraryEntry) -> bool:
    """Another host holds a fresh copy, or the store holds the file (with a store configured)."""
    if entry.stored_at is not None and model_store.enabled():
        return True
    return selectors.fresh_copies(entry.pk).exclude(host=host_name()).exists()


def heartbeat(now=None) -> None:
    """This host looked at its folder now (its copies are fresh)."""
    LibraryCopy.objects.filter(host=host_name()).update(seen_at=now or timezone.now())


def push_pending() -> list[str]:
    """Put into the store what this host holds and the store lacks (library.services.uploads)."""
    from library.services import uploads

    return uploads.push_pending()


def push(entry: LibraryEntry) -> bool:
    """Put one entry's files into the store unless it holds them (library.services.uploads)."""
    from library.services import uploads

    return uploads.push(entry)
