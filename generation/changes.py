"""A live job's changes announced, and waited for without reading its row.

Whoever changes a live job (``GenerationJob.live``: someone waits for it) announces it once the
change is committed: its claim, its finishing (generation.services.finishing), a cancel, a failure
or a requeue. A waiter (the kiosk's long poll, ``GET /live/<uuid>?wait=``) reads the row once,
waits for an announcement of that job, and reads it once more: no read while it waits.

The channel follows what the installation already runs, so no new part is needed:

- Redis pub/sub where the cache is Redis (one channel; the announcement is the job's id; a web
  process has one subscriber thread for all its waiters);
- PostgreSQL ``NOTIFY`` where the database is PostgreSQL and the cache is not Redis (one ``LISTEN``
  connection per web process);
- a file per job under the var folder on the embedded defaults (SQLite: web and workers share the
  machine): the announcement rewrites it, a waiter looks at its modification time every
  ``FILE_LOOK_SECONDS`` (a ``stat``, no database).

An announcement that is lost (Redis away, a listener reconnecting) costs the waiter its wait bound,
never a wrong answer: the waiter reads the row at the end either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

CHANNEL = "garden:job-changes"  # Redis channel and PostgreSQL notification channel (as an identifier)
PG_CHANNEL = "garden_job_changes"
FILE_LOOK_SECONDS = 0.01
FILE_KEEP_SECONDS = 3600  # a job's announcement file is removed this long after its last change
RECONNECT_SECONDS = 1.0
LOOK_SECONDS = 0.5  # how soon a listener sees that it is stopped (announcements wake it at once)


def channel_kind() -> str:
    """``redis``, ``postgresql`` or ``file``: where this installation's announcements go."""
    if settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return "redis"
    if settings.DATABASES["default"]["ENGINE"].endswith(("postgresql", "config.postgresql")):
        return "postgresql"
    return "file"


def announce(jobs: Iterable) -> None:
    """Say that these jobs changed (call once the change is committed); only live jobs are said.
    Never fails the caller: a lost announcement costs a waiter its wait bound."""
    announce_ids([job.pk for job in jobs if job.live])


def announce_ids(job_ids: Iterable) -> None:
    """``announce`` for jobs known by id only (a failure, a requeue: rare, said whatever the job)."""
    ids = [str(job_id) for job_id in job_ids]
    if not ids:
        return
    try:
        _announce(channel_kind(), ids)
    except Exception:  # the change itself is committed; the waiter reads the row at its bound
        log.warning("could not announce the change of jobs %s", ids, exc_info=True)


def _announce(kind: str, ids: list[str]) -> None:
    if kind == "redis":
        from config.caches.breaker import redis_call

        def publish(client) -> int:
            with client.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.publish(CHANNEL, job_id)
                pipe.execute()
            return len(ids)

        redis_call("publish", publish, default=0)
    elif kind == "postgresql":
        with connection.cursor() as cursor:  # delivered when the surrounding transaction (if any) commits
            for job_id in ids:
                cursor.execute("SELECT pg_notify(%s, %s)", [PG_CHANNEL, job_id])
    else:
        folder = file_folder()
        folder.mkdir(parents=True, exist_ok=True)
        for job_id in ids:
            path = folder / job_id
            path.touch()
            os.utime(path, ns=(time.time_ns(), time.time_ns()))  # a new mtime even within the clock's tick
        _prune(folder)


def file_folder() -> Path:
    return Path(settings.VAR_DIR) / "run" / "job-changes"


_pruned_at = 0.0


def _prune(folder: Path) -> None:
    """Every few minutes: the files of jobs that have not changed for FILE_KEEP_SECONDS go."""
    global _pruned_at
    now = time.time()
    if now - _pruned_at < 300:
        return
    _pruned_at = now
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > FILE_KEEP_SECONDS:
                path.unlink()


# --- waiting ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def watching(job_id) -> Iterator[Watch]:
    """Announcements of ``job_id`` from now on (enter before the first read, so a change committed
    between that read and the wait is not missed); ``watch.wait(seconds)`` inside."""
    watch = Watch(str(job_id), channel_kind())
    try:
        yield watch
    finally:
        watch.close()


class Watch:
    def __init__(self, job_id: str, kind: str) -> None:
        self.job_id, self.kind = job_id, kind
        self.event = threading.Event()
        if kind == "file":
            self.path = file_folder() / job_id
            self.seen = _mtime(self.path)
        else:
            _listener(kind).add(job_id, self.event)

    def wait(self, seconds: float) -> bool:
        """True as soon as the job is announced (since this watch began), False after ``seconds``."""
        if self.kind != "file":
            return self.event.wait(max(0.0, seconds))
        deadline = time.monotonic() + seconds
        while _mtime(self.path) == self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(FILE_LOOK_SECONDS, left))
        return True

    def close(self) -> None:
        if self.kind != "file":
            _listener(self.kind).remove(self.job_id, self.event)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class Listener:
    """One thread per web process that receives every announcement and wakes the watches of its job."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._waiting: dict[str, set[threading.Event]] = defaultdict(set)
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-changes-{kind}", daemon=True)
        self._thread.start()
        self._subscribed.wait(timeout=settings.GARDEN_CACHE_TIMEOUT_SECONDS)  # the first watch then misses nothing

    def add(self, job_id: str, event: threading.Event) -> None:
        with self._lock:
            self._waiting[job_id].add(event)

    def remove(self, job_id: str, event: threading.Event) -> None:
        with self._lock:
            events = self._waiting.get(job_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiting[job_id]

    def wake(self, job_id: str) -> None:
        with self._lock:
            events = list(self._waiting.get(job_id, ()))
        for event in events:
            event.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_redis() if self.kind == "redis" else self._listen_postgresql()
            except Exception:  # reconnect; waiters meanwhile end at their bound
                log.warning("job-change listener (%s) lost its connection; reconnecting", self.kind, exc_info=True)
                time.sleep(RECONNECT_SECONDS)

    def _listen_redis(self) -> None:
        from django_redis import get_redis_connection

        pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            pubsub.get_message(timeout=settings.GARDEN_CACHE_TIMEOUT_SECONDS)  # the subscription's confirmation
            self._subscribed.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=LOOK_SECONDS)
                if message is not None and message.get("type") == "message":
                    data = message["data"]
                    self.wake(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            pubsub.close()

    def _listen_postgresql(self) -> None:
        import psycopg

        with psycopg.connect(**_conninfo(), autocommit=True) as listening:
            listening.execute(f"LISTEN {PG_CHANNEL}")
            self._subscribed.set()
            while not self._stop.is_set():
                for notification in listening.notifies(timeout=LOOK_SECONDS):
                    self.wake(notification.payload)


def _conninfo() -> dict:
    """The default database's connection parameters for a connection of the listener's own."""
    database = settings.DATABASES["default"]
    info = {"dbname": database["NAME"], "user": database.get("USER") or None, "password": database.get("PASSWORD") or None}
    info |= {"host": database.get("HOST") or None, "port": database.get("PORT") or None}
    return {name: value for name, value in info.items() if value is not None}


_listeners: dict[str, Listener] = {}
_listeners_lock = threading.Lock()


def _listener(kind: str) -> Listener:
    with _listeners_lock:
        if kind not in _listeners:
            _listeners[kind] = Listener(kind)
        return _listeners[kind]


def stop_listeners() -> None:
    """Stop this process's listeners and close their connections (tests, before their database goes)."""
    with _listeners_lock:
        listeners = list(_listeners.values())
        _listeners.clear()
    for listener in listeners:
        listener.stop()
