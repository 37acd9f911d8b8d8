"""The library follows its folder (docs/models.md#the-library-follows-its-folder).

Every worker process (Celery's main process, at worker_ready: library.apps) starts a ``Follower``
thread; web processes never scan, they read the rows. It scans its host's GARDEN_MODELS_DIR at
start, then every GARDEN_LIBRARY_SCAN_SECONDS looks at the folder's files (names, sizes,
modification times: no file is opened) and scans again when they changed since the last scan a
process of this host made (the fingerprint is kept per host, GARDEN_HOST_NAME). A scan changes
only this host's copies (library.services.copies); each look says the host is alive, and puts
into the store (GARDEN_MODELS_STORE) what this host holds and the store lacks.
One process scans at a time (``config.locks.exclusive``: a PostgreSQL advisory lock, the shared
cache elsewhere, as the job sweeper does), so a stack of many processes hashes a new file once.
The admin's *Rescan* queues a scan (``request_scan``) that a worker runs, and the admin shows its
outcome when done; A1111's refresh-checkpoints queues one and waits a little for it (``scan_by_a_worker``).

Scans that were asked for, or that changed something, are recorded as LibraryScan rows (what was
added, changed and lost, by name, and the default model's news).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config import caches
from config.errors import DomainError
from config.locks import exclusive
from library import completeness
from library.hosts import host_name
from library.models import LibraryScan
from library.services import copies, uploads
from library.services.entries import LibraryError, ScanResult, scan

log = logging.getLogger(__name__)

SCAN_LOCK_ID = 0x6E534C  # a PostgreSQL advisory lock id of this app's own ("nSL")
LOCK_KEY = "generation:library-scan"
LOCK_TIMEOUT = 900  # the cache lock's expiry (its holder died): longer than hashing a few large new files
_fingerprints = caches.shared(
    owner=__name__,
    name="_fingerprints",
    prefix="generation:library-fingerprint",
    ttl=None,
    key="per host (GARDEN_HOST_NAME): the names, sizes and times of its models folder's files at its last scan",
    fresh="every scan writes it; a follower scans when the folder's fingerprint differs from it",
)


def _fingerprint_key() -> str:
    return _fingerprints.key(host_name())


KEEP_SCANS = 50
SCAN_TASK = "generation.tasks.scan_library"


class ScanBusy(Exception):
    """Another process is scanning the models folder right now."""


def _lock():
    return exclusive(advisory_id=SCAN_LOCK_ID, cache_key=LOCK_KEY, timeout=LOCK_TIMEOUT, busy=ScanBusy, message="scanning")


def scan_if_free(trigger: str, *, record: LibraryScan | None = None) -> ScanResult | None:
    """One scan unless another process is scanning (None then); recorded when asked for or when it
    changed something. The folder's fingerprint, taken before the scan, is shared for the others."""
    try:
        with _lock():
            return _scan_recorded(trigger, record)
    except ScanBusy:
        return None


def scan_now(trigger: str, *, wait_seconds: float = 600.0) -> ScanResult:
    """A scan for a caller that waits for its outcome (manage.py scan_models and push_models, an
    install on a worker): waits while another process scans, then scans."""
    if not settings.GARDEN_MODELS_DIR:
        return ScanResult()
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with _lock():
                return _scan_recorded(trigger, None)
        except ScanBusy:
            if time.monotonic() > deadline:
                raise LibraryError("another process has been scanning the models folder for too long; try again later.") from None
            time.sleep(0.2)


def _scan_recorded(trigger: str, record: LibraryScan | None) -> ScanResult:
    fingerprint = folder_fingerprint()
    asked = record is not None or trigger not in ("start", "periodic")
    if record is not None:
        LibraryScan.objects.filter(pk=record.pk).update(state=LibraryScan.State.RUNNING)
    try:
        result = scan()
    except (DomainError, OSError) as exc:
        if asked:
            _record(record, trigger, state=LibraryScan.State.FAILED, message=str(exc))
        raise
    if not result.settling:  # a file still being written: look again next time whatever the fingerprint says
        with contextlib.suppress(Exception):  # the cache away: every look scans until it is back
            _fingerprints.set(_fingerprint_key(), fingerprint)
    _push_pending()
    if asked or result.added or result.changed or result.lost or result.default_note:
        _record(
            record,
            trigger,
            state=LibraryScan.State.DONE,
            added=result.added,
            changed=result.changed,
            lost=result.lost,
            settling=result.settling,
            message=f"{result.changes()} ({result.summary()})",
        )
    return result


def _push_pending() -> None:
    """What this host holds and the store lacks, into the store (an install's new file at once)."""
    try:
        copies.push_pending()
    except Exception:  # the database or the store away: said in the log, tried at the next look
        log.warning("putting this host's models into the store failed", exc_info=True)


def _record(record: LibraryScan | None, trigger: str, **fields) -> None:
    fields["finished_at"] = timezone.now()
    if record is None:
        LibraryScan.objects.create(trigger=trigger, **fields)
    else:
        LibraryScan.objects.filter(pk=record.pk).update(**fields)
    stale = LibraryScan.objects.values_list("pk", flat=True)[KEEP_SCANS:]
    LibraryScan.objects.filter(pk__in=list(stale)).delete()


def folder_fingerprint() -> str:
    """What the folder's files look like now ("" without a library folder)."""
    root = settings.GARDEN_MODELS_DIR
    if not root or not os.path.isdir(root):
        return ""
    return completeness.fingerprint(root)


def changed_since_last_scan() -> bool:
    try:
        last = _fingerprints.get(_fingerprint_key())
    except Exception:  # the cache away: scan (cheap when nothing changed) rather than miss a change
        last = None
    return folder_fingerprint() != last


def request_scan(trigger: str = "admin") -> LibraryScan:
    """Queue a scan (the admin's Rescan) off the web request: a LibraryScan row, run by the task
    ``generation.tasks.scan_library`` on a worker of the default queue (where installs run too). The
    row says when it is done and what it found; a broker that is down marks it failed at once."""
    from celery import current_app

    record = LibraryScan.objects.create(trigger=trigger)
    try:
        current_app.tasks[SCAN_TASK].apply_async(args=[record.pk], queue="default")
    except Exception as exc:  # the broker is down or unreachable
        _record(record, trigger, state=LibraryScan.State.FAILED, message=f"could not queue the scan: {type(exc).__name__}: {exc}")
    return record


def scan_by_a_worker(trigger: str, *, wait_seconds: float) -> LibraryScan:
    """``request_scan``, then its row read every 0.2 s until a worker has run it or ``wait_seconds``
    passed (A1111's refresh-checkpoints: its clients list the models next, and a web process never
    scans). The row as it stands then: still queued or running when the workers are busy."""
    record = request_scan(trigger)
    deadline = time.monotonic() + wait_seconds
    while record.state in (LibraryScan.State.QUEUED, LibraryScan.State.RUNNING) and time.monotonic() < deadline:
        time.sleep(0.2)
        record.refresh_from_db()
    return record


def run_requested(scan_id: int) -> None:
    """The task's body: the queued scan, once no other process is scanning."""
    record = LibraryScan.objects.filter(pk=scan_id, state=LibraryScan.State.QUEUED).first()
    if record is not None:
        _wait_and_scan(record)


def _wait_and_scan(record: LibraryScan) -> None:
    deadline = time.monotonic() + 600
    while scan_if_free(record.trigger, record=record) is None:
        if time.monotonic() > deadline:
            _record(record, record.trigger, state=LibraryScan.State.FAILED, message="another process kept scanning for 10 minutes")
            return
        time.sleep(0.2)


class Follower:
    """The thread that scans at start and whenever the folder changed (every ``interval`` seconds)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="library-follower", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 0.0) -> bool:
        """No more looks; an upload in progress finishes within ``grace`` seconds or is stopped and
        marked so (library.services.uploads). True when none was left unfinished."""
        self._stop.set()
        finished = uploads.finish_or_hand_back(grace)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        return finished

    def tick(self, trigger: str) -> ScanResult | None:
        """One look: a scan at start, else only when the folder changed since the last scan."""
        if not settings.GARDEN_MODELS_DIR:
            return None
        if trigger != "start" and not changed_since_last_scan():
            copies.heartbeat()  # this host still looks at its folder: its copies stay fresh
            _push_pending()  # what a store that was away missed
            return None
        return scan_if_free(trigger)

    def _run(self) -> None:
        trigger = "start"
        while not self._stop.is_set():
            try:
                self.tick(trigger)
            except Exception:  # a missing folder or the database away: said in the log, tried again next time
                log.warning("following the models folder failed", exc_info=True)
            finally:
                connection.close()
            trigger = "periodic"
            if self._stop.wait(self.interval):
                return


_follower: tuple[int, Follower] | None = None
_follower_lock = threading.Lock()


def stop_following() -> bool:
    """A worker's warm shutdown (celery's worker_shutdown): this process's follower stops, its upload
    in progress given GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS; True when nothing was left unfinished."""
    global _follower
    with _follower_lock:
        if _follower is None or _follower[0] != os.getpid():
            return True
        follower, _follower = _follower[1], None
    finished = follower.stop(grace=float(settings.GARDEN_LIBRARY_UPLOAD_GRACE_SECONDS))
    if not finished:
        log.warning("the worker stopped with an upload into the model store unfinished (see the library's store column)")
    return finished


def start_following() -> Follower | None:
    """Start this process's follower once (a forked child starts its own); None when
    GARDEN_LIBRARY_SCAN_SECONDS is 0 or there is no library."""
    global _follower
    interval = float(settings.GARDEN_LIBRARY_SCAN_SECONDS)
    if interval <= 0 or not settings.GARDEN_MODELS_DIR:
        return None
    with _follower_lock:
        if _follower is None or _follower[0] != os.getpid():
            follower = Follower(interval)
            follower.start()
            _follower = (os.getpid(), follower)
            log.info("following the models folder %s every %ss (GARDEN_LIBRARY_SCAN_SECONDS)", settings.GARDEN_MODELS_DIR, interval)
        return _follower[1]
