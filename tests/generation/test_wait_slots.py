"""Waiting /text2image calls cannot starve the kiosk: a real gunicorn (1 worker x 4 threads), no
generation worker running, so every job stays queued and every /text2image call would wait."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.servers import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.load]
WAIT = 8.0  # GARDEN_TEXT2IMAGE_WAIT_SECONDS
CALLERS = 8  # twice the server's threads


def test_kiosk_latency_stays_low_while_text2image_waiters_pile_up(tmp_path):
    settings = {"GARDEN_TEXT2IMAGE_WAIT_SECONDS": str(WAIT), "GARDEN_JOB_WAIT_SLOTS": "2", "GARDEN_KIOSK_RATE": "100000/minute"}
    # The API only: no page loads a static file, so the compressed copies are not made.
    with gunicorn(tmp_path, workers=1, threads=4, compress_static=False, **settings) as server:
        code = (
            "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
            "print(Token.objects.create(user=get_user_model().objects.create_user('operator')).key)"
        )
        token = server.manage("shell", "-c", code).strip().splitlines()[-1]
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        body = json.dumps({"text": "a garden of glass flowers", "width": 64, "height": 64}).encode()

        with ThreadPoolExecutor(max_workers=CALLERS) as pool:
            waiters = [pool.submit(server.call, "/text2image", body, headers) for _ in range(CALLERS)]
            time.sleep(1.0)  # every caller has reached the server by now
            kiosk = [server.call("/gardenfromDB", json.dumps({"emotion": "calm"}).encode()) for _ in range(5)]
            results = [waiter.result() for waiter in waiters]

    assert all(status == 200 for status, _, _ in kiosk)
    assert max(seconds for _, _, seconds in kiosk) < 2.0, [seconds for _, _, seconds in kiosk]  # not WAIT
    statuses = [status for status, _, _ in results]
    assert statuses == [202] * CALLERS  # the jobs never ran: every caller got its job id to poll
    waited = sorted(seconds for _, _, seconds in results)
    assert waited[-1] >= WAIT - 0.5 and sum(seconds >= WAIT - 0.5 for seconds in waited) == 2  # two slots waited
    assert waited[CALLERS - 3] < 2.0  # the others answered at once
