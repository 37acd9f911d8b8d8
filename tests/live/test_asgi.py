"""The web server's application (live/asgi.py): Django on a pool of threads, and the live picture's
long poll waiting in the event loop, woken by the job's announcement, holding no thread meanwhile.

Driven in process as gunicorn's ASGI worker drives it (one event loop), with one thread for Django,
so a request answered while a long poll waits proves the poll holds none.
"""

import asyncio
import json
import threading
import time

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connection

from generation import changes
from generation.models import GenerationJob
from live.asgi import WebApplication
from tests.event_loop import run_apart
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_settings")]


def scope(path: str, query: str = "") -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


async def get(app: WebApplication, path: str, query: str = "") -> tuple[int, dict, float]:
    started, messages = time.monotonic(), []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await app(scope(path, query), receive, send)
    status = next(message["status"] for message in messages if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.response.body")
    return status, json.loads(body), time.monotonic() - started


class Counting(WebApplication):
    """Counts Django's answers to the long poll."""

    answers = 0

    async def answer(self, scope, receive):
        self.answers += 1
        return await super().answer(scope, receive)


def announce_later(seconds: float, job_id: str) -> threading.Thread:
    def finish():
        time.sleep(seconds)
        try:
            GenerationJob.objects.filter(pk=job_id).update(status="failed", error="x")
            changes.announce_ids([job_id])
        finally:
            connection.close()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_a_long_poll_waits_in_the_loop_is_woken_and_holds_no_thread(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    app = Counting(get_wsgi_application(), threads=1)  # one thread for Django
    finisher = announce_later(1.0, job_id)

    async def both():
        waiting = asyncio.create_task(get(app, f"/live/{job_id}", "wait=8"))
        await asyncio.sleep(0.3)
        meanwhile = await get(app, f"/live/{job_id}")  # the one thread is free while the poll waits
        return await waiting, meanwhile

    (status, body, seconds), (other_status, other_body, other_seconds) = run_apart(both())
    finisher.join()
    assert other_status == 200 and other_body["status"] == "queued" and other_seconds < 0.7
    assert status == 200 and body["status"] == "failed" and 0.9 < seconds < 3.0  # woken by the announcement
    assert app.answers == 2  # Django read the job before the wait and after it


def test_other_requests_and_a_bad_wait_are_django_s_answers(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    app = Counting(get_wsgi_application(), threads=1)
    assert run_apart(get(app, f"/live/{job_id}", "wait=soon"))[0] == 400
    status, body, seconds = run_apart(get(app, f"/live/{job_id}", "wait=0.3"))  # nothing announced: its bound
    assert status == 200 and body["status"] == "queued" and 0.25 < seconds < 2.0
    assert run_apart(get(app, "/live/00000000-0000-0000-0000-000000000000", "wait=5"))[0] == 404
    assert app.answers == 3  # two for the poll that waited, one for the 404 (answered at once, no wait)
