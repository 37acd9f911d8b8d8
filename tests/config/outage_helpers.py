"""Helpers for the outage tests: a Redis cache that is really unreachable, a door in front of the
live Redis that can be shut and opened again on the same address, and a count of the connections
the Redis client really tries to open."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from urllib.parse import urlparse

import pytest
import redis.connection

from testkit.local_services import reachable, redis_url

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused
OWN_DB = 11  # the outage tests' own Redis database, flushed by them only


def redis_cache(location: str) -> dict:
    """CACHES as settings make them for a django-redis CACHE_URL (config/settings.py)."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "CLIENT_CLASS": "config.caches.breaker.BreakerClient",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
            },
        }
    }


def live_redis() -> tuple[str, int]:
    parsed = urlparse(redis_url())
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if not reachable(f"redis://{host}:{port}"):
        pytest.skip(f"no Redis at {host}:{port}")
    return host, port


class ConnectAttempts:
    """How many connections the Redis client opened or tried to open, per port."""

    def __init__(self, monkeypatch) -> None:
        self.ports: Counter[int] = Counter()
        plain = redis.connection.Connection._connect

        def counting(connection):
            self.ports[connection.port] += 1
            return plain(connection)

        monkeypatch.setattr(redis.connection.Connection, "_connect", counting)

    def __getitem__(self, port: int) -> int:
        return self.ports[port]


class RedisDoor:
    """A TCP relay on a loopback port to the live Redis. ``shut()`` closes the port and every
    relayed connection (clients see refused connections and resets, as when Redis stops);
    ``open()`` listens on the same port again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{OWN_DB}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream, timeout=5)
            upstream.settimeout(None)  # idle pooled connections stay open
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
