"""A job's changes announced, and waited for without reading its row.

generation.worker.attempt announces a job's change once it is committed: every job's end (its
success, a cancel, a failure) and requeue, and a live job's start (``GenerationJob.live``: a kiosk
shows it). A waiter reads the row once, waits for an announcement of that job, and reads it once
more: no read while it waits. The kiosk's long poll (``GET /live/<uuid>?wait=``) waits once; an A1111
``txt2img`` waits until its job ends (a1111.waits).

The channel follows what the installation already runs, so no new part is needed:

- Redis pub/sub where the cache is Redis (one channel; the announcement is the job's id; a web
  process has one subscriber thread for all its waiters);
- PostgreSQL ``NOTIFY`` where the database is PostgreSQL and the cache is not Redis (one ``LISTEN``
  connection per web process);
- a file under the var folder on the embedded defaults (SQLite: web and workers share the machine):
  an announcement appends the job's id; a web process's listener thread looks at the file's size
  every ``FILE_LOOK_SECONDS`` (one ``stat``, no database) and reads the lines added.

An announcement that is lost (Redis away, a listener reconnecting) costs the waiter its wait bound,
never a wrong answer: the waiter reads the row at the end either way.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

log = logging.getLogger(__name__)

CHANNEL = "garden:job-changes"  # Redis channel and PostgreSQL notification channel (as an identifier)
PG_CHANNEL = "garden_job_changes"
FILE_LOOK_SECONDS = 0.01
FILE_LIMIT_BYTES = 4 << 20  # about 110,000 announcements, then the file starts again
RECONNECT_SECONDS = 1.0
LOOK_SECONDS = 0.5  # how soon a listener sees that it is stopped (announcements wake it at once)


def channel_kind() -> str:
    """``redis``, ``postgresql`` or ``file``: where this installation's announcements go."""
    if settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return "redis"
    if settings.DATABASES["default"]["ENGINE"].endswith(("postgresql", "config.postgresql")):
        return "postgresql"
    return "file"


def announce_ids(job_ids: Iterable) -> None:
    """Say that these jobs changed, whatever the jobs (generation.worker.attempt.announce: every end,
    a requeue, a live job's start); call once the change is committed."""
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
        with connection.cursor() as cursor:  # delivered when the surrounding transaction (if any) commits; one query for all
            cursor.execute("SELECT pg_notify(%s, job_id) FROM unnest(%s::text[]) AS job_id", [PG_CHANNEL, ids])
    else:
        path = changes_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write, in append mode: lines of concurrent writers never interleave (under PIPE_BUF).
        with open(path, "ab") as log_file:
            log_file.write("".join(f"{job_id}\n" for job_id in ids).encode())
            if log_file.tell() > FILE_LIMIT_BYTES:  # a listener that finds it shorter reads it from the start
                log_file.truncate(0)


def changes_file() -> Path:
    return Path(settings.VAR_DIR) / "run" / "job-changes.log"


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
    """A thread's watch: ``wait`` blocks the thread."""

    def __init__(self, job_id: str, kind: str) -> None:
        self.job_id, self.listener = job_id, _listener(kind)
        self.event = threading.Event()
        self.listener.add(job_id, self.event.set)

    def wait(self, seconds: float) -> bool:
        """True as soon as the job is announced (since this watch began, or since the last ``wait``
        that returned True), False after ``seconds``. Read the job after it, never before."""
        woke = self.event.wait(max(0.0, seconds))
        self.event.clear()  # before the caller's read: an announcement after it wakes the next wait
        return woke

    def close(self) -> None:
        self.listener.remove(self.job_id, self.event.set)


class Listener:
    """One thread per web process that receives every announcement and wakes the watches of its job."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._waiting: dict[str, set[Callable[[], None]]] = defaultdict(set)
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-changes-{kind}", daemon=True)
        self._thread.start()
        self._subscribed.wait(timeout=settings.GARDEN_CACHE_TIMEOUT_SECONDS)  # the first watch then misses nothing

    def add(self, job_id: str, wake: Callable[[], None]) -> None:
        with self._lock:
            self._waiting[job_id].add(wake)

    def remove(self, job_id: str, wake: Callable[[], None]) -> None:
        with self._lock:
            wakes = self._waiting.get(job_id)
            if wakes is not None:
                wakes.discard(wake)
                if not wakes:
                    del self._waiting[job_id]

    def wake(self, job_id: str) -> None:
        with self._lock:
            wakes = list(self._waiting.get(job_id, ()))
        for wake in wakes:
            wake()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                {"redis": self._listen_redis, "postgresql": self._listen_postgresql, "file": self._listen_file}[self.kind]()
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

    def _listen_file(self) -> None:
        """Looks at the file's size every FILE_LOOK_SECONDS (a ``stat``) and reads what was added."""
        path = changes_file()
        offset = path.stat().st_size if path.exists() else 0
        self._subscribed.set()
        while not self._stop.wait(FILE_LOOK_SECONDS):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size < offset:  # truncated by an announcer: read it again from the start
                offset = 0
            if size == offset:
                continue
            with open(path, "rb") as log_file:
                log_file.seek(offset)
                added = log_file.read(size - offset)
            complete = added.rfind(b"\n") + 1  # a line still being written is read at the next look
            offset += complete
            for job_id in added[:complete].decode().split():
                self.wake(job_id)

    def _listen_postgresql(self) -> None:
        import psycopg

        with psycopg.connect(**_conninfo(connections["default"]), autocommit=True) as listening:
            listening.execute(f"LISTEN {PG_CHANNEL}")
            self._subscribed.set()
            while not self._stop.is_set():
                for notification in listening.notifies(timeout=LOOK_SECONDS):
                    self.wake(notification.payload)


def _conninfo(database) -> dict:
    """``database``'s connection parameters as Django connects (its ``OPTIONS`` included: ``sslmode``,
    ``options``, a service…), for a plain connection of the listener's own."""
    params = database.get_connection_params()
    for django_only in ("cursor_factory", "context"):  # Django's cursors and adapters: not needed to listen
        params.pop(django_only, None)
    return params


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
