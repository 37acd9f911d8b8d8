"""Uploads into the venue's store that finish or say why (docs/models.md#several-machines).

A host's follower (library.services.follow) puts what the host holds and the store lacks into the
store (``push_pending``). Each upload under way is a ``LibraryUpload`` row of that host, with the
bytes it has sent (written about once a second), which the library admin shows; the row goes once
the store holds the file. A failed upload is logged and tried again after a back-off (30 s, doubled
per failure in a row, at most an hour); the store away stops the round (the next look tries again).

At a worker's warm shutdown (celery's ``worker_shutdown``, library.apps) ``finish_or_hand_back``
lets the upload in progress finish within GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS; past that it is
stopped (S3's multipart upload aborted, a folder store's temporary file removed), its row says
*stopped* with the bytes it had sent and the log says so: the next look of a host that holds the
file uploads it again. Nothing is left half-stored: the store's object appears whole or not at all.

A host killed mid-upload (SIGKILL, power) leaves its row *uploading* with no one to finish it. Each
host's look first marks such rows *stalled* (``mark_stalled``): the uploading host has no worker
present (library.hosts.present_hosts) and its row has not moved for ABSENT_GRACE seconds, or the
row has not moved for GARDEN_LIBRARY_UPLOAD_STALL_SECONDS whatever presence says. The row keeps
the bytes it had sent and says why; after its back-off a host holding the file (another one, or the
same one back) uploads it. A host leaves an entry alone while another host's upload of it moves.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from library import manifests
from library import store as model_store
from library.hosts import host_name, present_hosts
from library.models import LibraryEntry, LibraryUpload
from library.store import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

BACKOFF_FIRST = 30.0  # seconds before the first retry of a failed upload; doubled per failure in a row
BACKOFF_MOST = 3600.0
REPORT_SECONDS = 1.0  # how often an upload writes its progress to its row
# An upload whose host has no worker present is stalled once its row has not moved for this long
# (not at once: manage.py push_models uploads from a host that may run no worker).
ABSENT_GRACE = 30.0

_closing = threading.Event()  # set at a shutdown: no new upload starts
_stop = threading.Event()  # set once a shutdown's grace is over: the upload in progress stops
_idle = threading.Event()  # clear while this process uploads
_idle.set()


class UploadStopped(StoreError):
    """The worker is shutting down and its grace for uploads is over."""


def backoff(attempts: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MOST)


def push_pending() -> list[str]:
    """Put into the store the files this host holds and the store lacks (names pushed), skipping
    those whose last failure's back-off is not over. The store away ends the round."""
    if model_store.get() is None:
        return []
    host, now = host_name(), timezone.now()
    mark_stalled(now)
    waiting = LibraryUpload.objects.filter(
        Q(host=host, next_try_at__gt=now)  # this host's own back-off
        | (~Q(host=host) & (Q(state=LibraryUpload.State.UPLOADING) | Q(state=LibraryUpload.State.STALLED, next_try_at__gt=now)))
    ).values_list("entry_id", flat=True)
    pending = (
        LibraryEntry.objects.filter(stored_at__isnull=True, copies__host=host, copies__on_disk=True, present=True)
        .exclude(sha256="", manifest_sha256="")
        .exclude(pk__in=list(waiting))
        .distinct()
    )
    pushed = []
    for entry in pending:
        if _closing.is_set():
            break
        try:
            if push(entry):
                pushed.append(entry.name)
        except (UploadStopped, StoreUnavailable):
            break
        except (StoreError, OSError):
            continue  # said in the log and on its row; the others may go
    return pushed


def push(entry: LibraryEntry) -> bool:
    """Put one entry's file (on this host) into the store unless it is there; True when uploaded. A
    folder goes as its files by sha256 (those the store holds already, another folder's text encoder
    say, are not sent again), then its manifest, last: a stored manifest names stored files only."""
    store = model_store.get()
    if store is None or not entry.content_sha256:
        return False
    path = Path(settings.GARDEN_MODELS_DIR).expanduser() / entry.path
    missing = [(file, sha256) for file, sha256 in _parts(entry, path) if store.stat(sha256) is None]
    manifest_missing = bool(entry.manifest_sha256) and store.stat(entry.manifest_sha256) is None
    if missing or manifest_missing:
        total = sum(file.stat().st_size for file, _ in missing)
        _say_taken_over(entry)
        row, _ = LibraryUpload.objects.update_or_create(
            entry=entry,
            host=host_name(),
            defaults={"state": LibraryUpload.State.UPLOADING, "bytes_done": 0, "bytes_total": total, "updated_at": timezone.now()},
        )
        _upload(store, entry, row, missing, manifest_missing, total)
    LibraryEntry.objects.filter(pk=entry.pk).update(stored_at=timezone.now())
    LibraryUpload.objects.filter(entry=entry).delete()  # every host's row: a stalled one taken over too
    return bool(missing or manifest_missing)


def mark_stalled(now=None) -> list[str]:
    """Rows *uploading* that no process moves any more (their host gone, or no progress past the
    horizon): *stalled*, with why and a back-off before a host holding the file uploads it again.
    The ``entry from host`` of each row marked."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=float(settings.GARDEN_LIBRARY_UPLOAD_STALL_SECONDS))
    quiet = LibraryUpload.objects.filter(state=LibraryUpload.State.UPLOADING, updated_at__lt=now - timedelta(seconds=ABSENT_GRACE))
    if not quiet.exists():
        return []
    present = present_hosts()
    marked = []
    for row in quiet.select_related("entry"):
        gone = present is not None and row.host not in present
        if not gone and row.updated_at >= horizon:
            continue
        since = row.updated_at.isoformat(timespec="seconds")
        why = f"host {row.host} has no worker present" if gone else "its progress stopped"
        why += f": no progress since {since}, {row.bytes_done} of {row.bytes_total} bytes sent"
        attempts, wait = row.attempts + 1, backoff(row.attempts + 1)
        # Only if the row did not move meanwhile (its upload went on after all).
        if LibraryUpload.objects.filter(pk=row.pk, state=LibraryUpload.State.UPLOADING, updated_at=row.updated_at).update(
            state=LibraryUpload.State.STALLED, attempts=attempts, error=why[:500], next_try_at=now + timedelta(seconds=wait)
        ):
            name, host = row.entry.name, row.host
            log.warning("upload of %s from host %s stalled (%s); a host holding it uploads it after %.0f s", name, host, why, wait)
            marked.append(f"{row.entry.name} from {row.host}")
    return marked


def _say_taken_over(entry: LibraryEntry) -> None:
    for row in LibraryUpload.objects.filter(entry=entry, state=LibraryUpload.State.STALLED).exclude(host=host_name()):
        log.info("host %s takes over the upload of %s from host %s (%s)", host_name(), entry.name, row.host, row.error)


def _upload(store, entry: LibraryEntry, row: LibraryUpload, missing: list[tuple[Path, str]], manifest_missing: bool, total: int) -> None:
    rows = LibraryUpload.objects.filter(pk=row.pk)
    sent, last, owner = [0], [0.0], threading.get_ident()

    def progress(done: int, _size: int) -> None:
        if _stop.is_set():
            raise UploadStopped(f"the worker is shutting down: {entry.name}'s upload stopped")
        now = time.monotonic()
        if now - last[0] < REPORT_SECONDS:
            return
        last[0] = now
        try:  # a row marked stalled while this upload was slow moves again
            rows.update(bytes_done=sent[0] + done, updated_at=timezone.now(), state=LibraryUpload.State.UPLOADING, next_try_at=None)
        except DatabaseError:  # the progress is news, not the upload: it goes on
            log.debug("could not write %s's upload progress", entry.name, exc_info=True)
        finally:
            if threading.get_ident() != owner:  # boto3's reading thread: no connection left behind
                connection.close()

    _idle.clear()
    try:
        for file, sha256 in missing:
            store.put(file, sha256, progress)
            sent[0] += file.stat().st_size
        if manifest_missing:
            with tempfile.TemporaryDirectory() as folder:
                written = Path(folder) / entry.manifest_sha256
                written.write_bytes(manifests.encode(entry.details["files"]))
                store.put(written, entry.manifest_sha256)
    except UploadStopped:
        done = rows.values_list("bytes_done", flat=True).first() or sent[0]
        why = f"stopped by the worker's shutdown at {done} of {total} bytes: the next look of a host holding it uploads it"
        rows.update(state=LibraryUpload.State.STOPPED, bytes_done=done, error=why, updated_at=timezone.now())
        log.warning("upload of %s into the model store %s %s", entry.name, store, why)
        raise
    except (StoreError, OSError) as exc:
        attempts = row.attempts + 1
        wait = backoff(attempts)
        rows.update(
            state=LibraryUpload.State.FAILED,
            attempts=attempts,
            error=str(exc)[:500],
            next_try_at=timezone.now() + timedelta(seconds=wait),
            updated_at=timezone.now(),
        )
        log.warning("could not put %s into the model store %s (failure %s; next try in %.0f s): %s", entry.name, store, attempts, wait, exc)
        raise
    finally:
        _idle.set()
    log.info("put %s (%s bytes, sha256 %s) into the model store %s", entry.name, total, entry.content_sha256, store)


def _parts(entry: LibraryEntry, path: Path) -> list[tuple[Path, str]]:
    """(file, sha256) of each distinct file the entry stores."""
    if not entry.manifest_sha256:
        return [(path, entry.sha256)]
    parts: dict[str, Path] = {}
    for relative, sha256, _ in entry.details.get("files") or []:
        parts.setdefault(sha256, path / relative)
    return [(file, sha256) for sha256, file in parts.items()]


def finish_or_hand_back(grace: float) -> bool:
    """At a shutdown: no new upload starts; the one in progress has ``grace`` seconds to finish, then
    is stopped (its row says so). True when none was left unfinished."""
    _closing.set()
    if _idle.wait(grace):
        return True
    _stop.set()
    _idle.wait(30)  # boto3 aborts the multipart upload: a few requests
    return False


def resume() -> None:
    """Uploads may start again (tests; a process that stopped following and follows again)."""
    _closing.clear()
    _stop.clear()
