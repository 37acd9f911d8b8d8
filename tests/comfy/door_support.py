"""The door served for tests: the real aiohttp application on a free loopback port, in a thread
of the test process (so it shares the test database), and a worker's run of a job in the test's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

from aiohttp import web

from comfy import door
from testkit.servers import free_port
from tests.worker_runs import paint_as_worker


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """The door's base URL while the block runs."""
    with _serving() as base:
        yield base


@contextlib.contextmanager
def _serving() -> Iterator[str]:
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(door.application())
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def call(base: str, method: str, path: str, body: bytes | str | dict | None = None, headers: dict | None = None):
    """(status, headers, body: JSON, or bytes for pictures)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, answer_headers, content = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, content = error.code, dict(error.headers), error.read()
    if answer_headers.get("Content-Type", "").startswith("application/json"):
        return status, answer_headers, json.loads(content or b"null")
    return status, answer_headers, content


def paint(job_id) -> None:
    """A worker's run of the job, here and now (its progress and end are written as on a worker),
    with the task's answers to SQLite's shared-cache lock met while the door's thread reads the job
    table (tests.worker_runs)."""
    paint_as_worker(str(job_id))


class Socket:
    """A websocket client on the door (aiohttp's client in a thread of its own), keeping every text message."""

    def __init__(self, url: str, headers: dict | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.messages: list[dict] = []
        self.binary = 0
        self.opened, self.ended = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        assert self.opened.wait(30), "the websocket did not open"

    async def _run(self) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session, session.ws_connect(self.url, headers=self.headers) as ws:
            self.opened.set()
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.binary += 1
                    continue
                data = json.loads(message.data)
                self.messages.append(data)
                if data["type"] == "executing" and data["data"]["node"] is None:
                    self.ended.set()
                    return

    def wait_end(self, timeout: float = 120) -> list[dict]:
        assert self.ended.wait(timeout), self.messages
        return self.messages
