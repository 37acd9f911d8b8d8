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
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testkit.servers import gunicorn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUESTS = 600
CLIENTS = 16
DEADLINE_SECONDS = 120

pytestmark = [pytest.mark.slow, pytest.mark.load]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The app, not the throttle (every client is 127.0.0.1); the API only, so no compressed static copies.
    with gunicorn(tmp_path_factory.mktemp("load-var"), compress_static=False, GARDEN_KIOSK_RATE="1000000/minute") as running:
        yield running


def face_png() -> bytes:
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((320, 320)).save(buffer, "PNG")
    return buffer.getvalue()


def count_rows(server, event_type: str) -> int:
    code = f"from recommend.models import Interaction; print(Interaction.objects.filter(event_type={event_type!r}).count())"
    return int(server.manage("shell", "-c", code, timeout=120).strip().splitlines()[-1])


def test_concurrent_kiosk_traffic_loses_nothing_and_never_500s(server):
    searches = ["happy", "calm", "sad/spring,sunny,day", "fear/winter,snowy,the-middle-of-the-night", "angry/autumn,rainy,sunset"]
    keys = []
    for search in searches:
        status, body, _ = server.call("/gardenfromDB", json.dumps({"emotion": search}).encode())
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
        status, content, seconds = server.call(path, body, headers)
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
    assert count_rows(server, "click") == accepted_likes
    assert count_rows(server, "impression") == accepted_impressions

    engine = server.env["DATABASE_URL"].split(":")[0]
    print(f"\n{REQUESTS} requests from {CLIENTS} clients in {elapsed:.1f} s ({REQUESTS / elapsed:.0f} req/s) on {engine}")
    for name in sorted({r[0] for r in results}):
        times = sorted(seconds * 1000 for n, _, seconds, _, _ in results if n == name)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"  {name:13s} n={len(times):4d}  p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms")
