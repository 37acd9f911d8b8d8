"""Helpers for the screens tests: an enrolled screen, a valid beat, a signed post."""

from __future__ import annotations

import json
import time

from screens import services, signing
from screens.models import Screen


def enrolled_screen(name: str = "Hall kiosk", *, kind: str = "kiosk", location: str = "hall", zone: str = "") -> tuple[Screen, str]:
    """A screen enrolled as its device would be: (row, device secret)."""
    screen = Screen.objects.create(name=name, kind=kind, location=location, zone=zone)
    token = services.open_enrolment(screen=screen)
    screen, secret = services.enrol(token=token)
    return screen, secret


def beat_body(**changes) -> dict:
    body = {
        "kind": "kiosk",
        "page": "/kiosk/",
        "version": "",
        "language": "en",
        "interval": 15,
        "load": "a1b2c3d4e5f60718",
        "uptime": 42.5,
        "camera": "ok",
        "outbox": {"length": 0, "oldest": 0},
        "errors": [],
        "errorCount": 0,
        "visitors": 3,
        "heap": {"used": 20_000_000, "limit": 4_000_000_000},
        "screen": {"width": 1920, "height": 1080, "dpr": 1},
        "wakeLock": "held",
        "maintenance": False,
        "reload": "",
        "acks": [],
    }
    body.update(changes)
    return body


def now_ms() -> int:
    return int(time.time() * 1000)


def signed_headers(screen_id: int, secret: str, raw: bytes, ts: int | None = None) -> dict:
    ts = now_ms() if ts is None else ts
    return {
        "HTTP_X_SCREEN": str(screen_id),
        "HTTP_X_SCREEN_TIME": str(ts),
        "HTTP_X_SCREEN_SIGNATURE": signing.signature(secret, screen_id, ts, raw),
    }


def post_beat(client, screen: Screen, secret: str, body: dict | bytes | None = None, *, ts: int | None = None, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else beat_body()).encode()
    return client.post("/screens/beat", raw, content_type="application/json", **signed_headers(screen.pk, secret, raw, ts), **extra)


def post_anonymous(client, anonymous_id: str, body: dict | None = None):
    raw = json.dumps(body if body is not None else beat_body()).encode()
    return client.post("/screens/beat", raw, content_type="application/json", HTTP_X_SCREEN_ANONYMOUS=anonymous_id)
