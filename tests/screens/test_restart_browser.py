"""A kiosk rides out a server restart: gunicorn (started by the test, on a database of its own) is
stopped under a running, enrolled kiosk page and started again on the same port. Nobody reloads the
page by hand: its beats resume (the fleet is ok again on /metrics), the same document goes on, and
the next visitor's capture and garden work."""

from __future__ import annotations

import time

import pytest

from testkit.servers import gunicorn
from tests.screens.browser_support import MARKER, same_document
from tests.screens.browser_support import scrape as metrics

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BEAT = 2


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {message}")


def test_the_server_restarted_under_a_running_kiosk_is_ridden_out(tmp_path, page):
    settings = {"GARDEN_SCREENS_BEAT_SECONDS": str(BEAT), "GARDEN_SCREENS_BEATS_PER_MINUTE": "600", "GARDEN_LIVE_ENABLED": "false"}
    with gunicorn(tmp_path, workers=1, threads=4, compress_static=False, **settings) as server:
        code = (
            "from screens.models import Screen; from screens import services; "
            "print(services.open_enrolment(screen=Screen.objects.create(name='Hall kiosk')))"
        )
        token = server.manage("shell", "-c", code).strip().splitlines()[-1]
        page.goto(f"{server.base}/screens/enrol/{token}")
        page.wait_for_url("**/kiosk/", timeout=20_000)
        page.wait_for_function("() => !document.getElementById('capture-button').disabled", timeout=20_000)
        wait_for(lambda: 'garden_screens{status="ok"} 1.0' in metrics(server.base), 20, "the kiosk ok")
        page.evaluate(MARKER)

        server.stop()
        page.wait_for_timeout(BEAT * 2 * 1000)  # two beats fail: the page keeps going
        assert same_document(page)
        server.start()  # same port, same database

        back = time.monotonic()
        wait_for(lambda: 'garden_screens{status="ok"} 1.0' in metrics(server.base), 30, "beats resumed")
        print(f"beats resumed {time.monotonic() - back:.1f} s after the server answered again")
        assert same_document(page), "the page was reloaded"
        with page.expect_response(lambda r: r.url.endswith("/emotion") and r.request.method == "POST") as info:
            page.click("#capture-button")
        assert info.value.status == 200
        page.wait_for_function("() => document.querySelectorAll('#garden img').length > 0", timeout=20_000)
        assert same_document(page)
        page.goto("about:blank")
