"""The web server's application (the Procfile's ``web`` line, deploy's ``web`` role: gunicorn's ASGI
worker): every request is Django's WSGI application on a pool of GARDEN_WEB_THREADS threads
(a2wsgi), as gunicorn's gthread worker ran it, except the waiting part of the live picture's long
poll (``GET /live/<uuid>?wait=``), which waits in the event loop and holds no thread.

The long poll is answered by Django twice at most, with ``wait=0``: once at once (the first read of
the job); if the job is still queued or running, the event loop waits for its worker's announcement
(generation.changes) or ``wait`` seconds, and Django answers again (the last read). So waiting
kiosks leave every thread to the other requests, and the view, its throttle, its schema and its
query budget are the same as without this (docs/live.md#get-liveuuid). It lives in the live app,
the top layer, because it composes the site with the live picture's route.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode

from a2wsgi import WSGIMiddleware
from django.conf import settings

from config.wsgi import application as django_application
from generation import changes

LONG_POLL = re.compile(r"^/live/[0-9a-fA-F-]{32,36}$")


class WebApplication:
    def __init__(self, wsgi, *, threads: int) -> None:
        self.django = WSGIMiddleware(wsgi, workers=threads)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and LONG_POLL.match(scope["path"]):
            seconds = wait_of(scope["query_string"])
            if seconds > 0:
                await self.long_poll(scope, receive, send, seconds)
                return
        await self.django(scope, receive, send)

    async def long_poll(self, scope, receive, send, seconds: float) -> None:
        at_once = {**scope, "query_string": without_wait(scope["query_string"])}
        with changes.watching_in_loop(scope["path"].rsplit("/", 1)[1]) as watch:  # before the first read
            answer = await self.answer(at_once, receive)
            if still_waiting(answer):
                await watch.wait(min(seconds, settings.GARDEN_LIVE_WAIT_SECONDS))
                answer = await self.answer(at_once, no_body)
        for message in answer:
            await send(message)

    async def answer(self, scope, receive) -> list[dict]:
        """Django's whole answer to ``scope``, as the messages it would send."""
        messages: list[dict] = []

        async def keep(message) -> None:
            messages.append(dict(message))

        await self.django(scope, receive, keep)
        return messages


async def no_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def wait_of(query: bytes) -> float:
    """The ``wait`` asked for; 0 for none or one that is not a number ≥ 0 (Django answers that, a 400)."""
    for name, value in parse_qsl(query.decode("latin-1")):
        if name == "wait":
            try:
                seconds = float(value)
            except ValueError:
                return 0.0
            return seconds if 0 < seconds < float("inf") else 0.0
    return 0.0


def without_wait(query: bytes) -> bytes:
    pairs = [(name, value) for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if name != "wait"]
    return urlencode([*pairs, ("wait", "0")]).encode("latin-1")


def still_waiting(answer: list[dict]) -> bool:
    """A 200 whose job is queued or running (the answer's ``status``)."""
    start = next((message for message in answer if message["type"] == "http.response.start"), None)
    if start is None or start["status"] != 200:
        return False
    body = b"".join(message.get("body", b"") for message in answer if message["type"] == "http.response.body")
    try:
        status = json.loads(body).get("status")
    except (ValueError, AttributeError):
        return False
    return status in ("queued", "running")


application = WebApplication(django_application, threads=settings.GARDEN_WEB_THREADS)
