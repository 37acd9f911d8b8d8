"""Load test: a real gunicorn server under concurrent kiosk traffic loses nothing and never 500s.

The server runs as it does in production (gunicorn, 2 workers × 4 threads) on its own database:
a fresh SQLite file in WAL mode (the embedded default), or a throw-away PostgreSQL database when
DATABASE_URL points at PostgreSQL (as in CI). 16 client threads send a bounded mix of requests —
gardens, recommendations, likes, impressions, real face photos and bad input — and the test checks
every answer's status and that every accepted like and impression was stored. Latencies are printed
for information, never asserted.
"""

from __future__ import annotations

import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUESTS = 600
CLIENTS = 16
DEADLINE_SECONDS = 120

pytestmark = [pytest.mark.slow, pytest.mark.load]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_database(tmp_path_factory):
    """A database URL of the server's own: a new PostgreSQL database, or a SQLite file."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield "", tmp_path_factory.mktemp("load-var")  # the default: SQLite under GARDEN_VAR_DIR
        return
    import psycopg

    name = f"garden_load_{os.getpid()}"
    admin = configured.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield configured.rsplit("/", 1)[0] + f"/{name}", tmp_path_factory.mktemp("load-var")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server(server_database):
    database_url, var_dir = server_database
    env = {
        **os.environ,
        "GARDEN_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url or f"sqlite:///{var_dir / 'garden.sqlite3'}",
        "GARDEN_KIOSK_RATE": "1000000/minute",  # measure the app, not the throttle
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)

    manage("migrate", "--no-input", "-v", "0")
    manage("seed_demo_garden", "--per-key", "1", "-v", "0")
    port = _free_port()
    log = open(var_dir / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/schema", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"gunicorn exited: {(var_dir / 'gunicorn.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield base, manage, env
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def call(base: str, path: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes, float]:
    request = urllib.request.Request(base + path, data=body, headers=headers or {}, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.perf_counter() - started


def face_png() -> bytes:
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((320, 320)).save(buffer, "PNG")
    return buffer.getvalue()


def count_rows(env: dict, event_type: str) -> int:
    code = f"from recommend.models import Interaction; print(Interaction.objects.filter(event_type={event_type!r}).count())"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_concurrent_kiosk_traffic_loses_nothing_and_never_500s(server):
    base, _, env = server
    searches = ["happy", "calm", "sad/spring,sunny,day", "fear/winter,snowy,the-middle-of-the-night", "angry/autumn,rainy,sunset"]
    keys = []
    for search in searches:
        status, body, _ = call(base, "/gardenfromDB", json.dumps({"emotion": search}).encode())
        assert status == 200
        listing = json.loads(body)
        keys += [item["url"][item["url"].rindex("emotions") :] for item in listing["landscape"] + listing["portrait"]]
    assert len(keys) >= 10
    photo = face_png()
    visitors = [str(uuid.uuid4()) for _ in range(40)]
    rng = random.Random(7)

    def plan(n: int):
        """(name, path, body, headers, expected statuses) for request n; a fixed, seeded mix."""
        roll, visitor = rng.random(), rng.choice(visitors)
        shown = rng.sample(keys, 3)
        if roll < 0.25:
            return "garden", "/garden", json.dumps({"id": visitor, "emotion": rng.choice(searches)}).encode(), {}, {200}
        if roll < 0.40:
            return "gardenfromDB", "/gardenfromDB", json.dumps({"emotion": rng.choice(searches)}).encode(), {}, {200}
        if roll < 0.70:
            body = {"id": visitor, "itemId": shown[0], "impression": shown}
            return "like", "/like", json.dumps(body).encode(), {"Content-Type": "text/plain;charset=UTF-8"}, {200}
        if roll < 0.80:
            return "impression", "/impression", json.dumps({"id": visitor, "impression": shown}).encode(), {}, {200}
        if roll < 0.85:
            return "emotion", "/emotion", photo, {"Content-Type": "image/png", "X-user-id": visitor}, {200}
        bad = [
            ("/like", b'{"id": "broken', {400}),
            ("/garden", b'{"emotion": "bored"}', {400}),
            ("/like", json.dumps({"id": visitor, "itemId": "emotions/calm/img_20230320-121242_9h.jpeg"}).encode(), {404}),
            ("/emotion", b"GIF89a not a photo", {415}),
            ("/emotion", photo[: len(photo) // 3], {400}),
        ]
        path, body, expected = rng.choice(bad)
        return "bad", path, body, {}, expected

    work = [plan(n) for n in range(REQUESTS)]
    deadline = time.monotonic() + DEADLINE_SECONDS

    def run(item):
        name, path, body, headers, expected = item
        if time.monotonic() > deadline:
            return name, None, 0.0, expected, b""
        status, content, seconds = call(base, path, body, headers)
        return name, status, seconds, expected, content

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(run, work))
    elapsed = time.perf_counter() - started

    unanswered = [r for r in results if r[1] is None]
    assert not unanswered, f"{len(unanswered)} requests not sent before the {DEADLINE_SECONDS} s deadline"
    server_errors = [(name, status, content[:200]) for name, status, _, _, content in results if status >= 500]
    assert not server_errors, server_errors[:5]
    wrong = [(name, status, sorted(expected), content[:200]) for name, status, _, expected, content in results if status not in expected]
    assert not wrong, wrong[:5]

    accepted_likes = sum(1 for name, status, *_ in results if name == "like" and status == 200)
    accepted_impressions = sum(1 for name, status, *_ in results if name == "impression" and status == 200)
    assert count_rows(env, "click") == accepted_likes
    assert count_rows(env, "impression") == accepted_impressions

    engine = env["DATABASE_URL"].split(":")[0]
    print(f"\n{REQUESTS} requests from {CLIENTS} clients in {elapsed:.1f} s ({REQUESTS / elapsed:.0f} req/s) on {engine}")
    for name in sorted({r[0] for r in results}):
        times = sorted(seconds * 1000 for n, _, seconds, _, _ in results if n == name)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"  {name:13s} n={len(times):4d}  p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms")
