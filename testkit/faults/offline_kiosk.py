"""The offline-kiosk scenario: real Chromium kiosk pages lose the network while visitors like pictures.

Two kiosks (two browser contexts, each with its own localStorage) run the fault suite's kiosk page
against its gunicorn, filmed by Chromium's fake camera showing a real face. Each visitor captures,
likes a picture online, then the hall's network goes (Chromium's offline mode: Playwright's
``set_offline``, CDP ``Network.emulateNetworkConditions``) for ``seconds`` while each visitor likes
the other two pictures, undoes one and likes it again. The page's outbox (garden/static/kiosk/
outbox.js) keeps the events; once the network is back every like and undo must be in the database
exactly once, and every key the pages made must be stored once (infra.idempotency).
"""

from __future__ import annotations

import json
import time
from collections import Counter

from testkit.camera import FAKE_CAMERA_FLAGS, KIOSK, astronaut_frame, write_y4m
from testkit.chromium import CHROMIUM_ARGS, launch_chromium
from testkit.faults.kiosk import Ledger, Outcome
from testkit.faults.processes import HarnessError
from testkit.faults.stack import Stack
from testkit.faults.traffic import Call

OUTBOX = "JSON.parse(localStorage.getItem('garden.kiosk.outbox.v1') || '[]')"
FAVORITE = ("spring", "sunny", "day")
WRITES = ("/like", "/dislike", "/impression")
EVENT_TYPES = {"/like": "click", "/dislike": "dislike"}


class KioskPage:
    """One kiosk: a browser context of its own, its visitor, and every write request it made."""

    def __init__(self, chromium, stack: Stack, clock: float):
        self.context = chromium.new_context(**KIOSK)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.clock = clock
        self.calls: list[Call] = []
        self.keys: set[str] = set()  # every Idempotency-Key the page sent (or tried to)
        self.presses: list[Call] = []  # what the visitor did, as the requests it must become
        self.visitor = ""
        self.shown: list[str] = []
        self.page.on("response", self._answered)
        self.page.on("requestfailed", self._failed)
        self.base = stack.base

    def _write(self, request) -> str | None:
        path = "/" + request.url.rsplit("/", 1)[-1]
        return path if request.method == "POST" and path in WRITES else None

    def _record(self, request, status: int | None, error: str = "") -> None:
        endpoint = self._write(request)
        if endpoint is None:
            return
        self.keys.add(request.headers.get("idempotency-key", ""))
        now = time.monotonic() - self.clock
        payload = json.loads(request.post_data or "{}")
        self.calls.append(Call(now, now, endpoint, payload, status, error=error))

    def _answered(self, response) -> None:
        self._record(response.request, response.status)

    def _failed(self, request) -> None:
        self._record(request, None, error=request.failure or "failed")

    def start_visit(self) -> None:
        """Open the kiosk, choose a favorite, capture: the visitor and the three pictures shown."""
        self.page.goto(self.base + "/kiosk/")
        self.page.wait_for_function("() => !document.getElementById('capture-button').disabled")
        for name, value in zip(("season", "weather", "time"), FAVORITE, strict=True):
            self.page.select_option(f"#favorite-{name}", value)
        with self.page.expect_response(lambda r: r.url.endswith("/emotion") and r.request.method == "POST") as info:
            self.page.click("#capture-button")
        if info.value.status != 200:
            raise HarnessError(f"/emotion answered {info.value.status}: {info.value.text()[:300]}")
        self.visitor = info.value.json()["id"]
        self.page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
        urls = self.page.eval_on_selector_all("#garden img", "imgs => imgs.map(i => i.src)")
        self.shown = [url[url.rfind("emotions") :] for url in urls]

    def press(self, key: str) -> None:
        """Click a picture's like button; it must show the new state at once, with no error."""
        button = self.page.locator(f'#garden .like-button[data-key="{key}"]')
        liked = button.get_attribute("aria-pressed") == "true"
        button.click()
        state = "false" if liked else "true"
        self.page.wait_for_selector(f'#garden .like-button[data-key="{key}"][aria-pressed="{state}"]:not([disabled])', timeout=5000)
        endpoint = "/dislike" if liked else "/like"
        now = time.monotonic() - self.clock
        self.presses.append(Call(now, now, endpoint, {"id": self.visitor, "itemId": key}, None))

    def errors_shown(self) -> int:
        return self.page.locator('[role="alert"]:visible').count() + self.page.locator('[data-state="error"]').count()

    def waiting(self) -> list[dict]:
        return self.page.evaluate(OUTBOX)


def offline_spell(stack: Stack, *, seconds: float = 20, kiosks: int = 2, deadline: float = 60) -> Outcome:
    """Facts: presses and rows per (visitor, event, item), keys sent and stored, what waited in
    each outbox at the end of the spell, errors shown; recover_seconds: from the network's return
    to every outbox empty."""
    from playwright.sync_api import sync_playwright

    outcome = Outcome(f"kiosk browser offline {seconds:.0f} s")
    video = write_y4m(stack.folder / "astronaut.y4m", astronaut_frame())
    clock = time.monotonic()
    with sync_playwright() as playwright:
        flags = [*CHROMIUM_ARGS, *FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={video}"]
        chromium = launch_chromium(playwright, flags)
        try:
            pages = [KioskPage(chromium, stack, clock) for _ in range(kiosks)]
            for kiosk in pages:
                kiosk.start_visit()
                kiosk.press(kiosk.shown[0])  # online: delivered at once
            for kiosk in pages:
                _wait(lambda kiosk=kiosk: kiosk.waiting() == [], seconds=20, what="the online like delivered")
            down = time.monotonic()
            for kiosk in pages:
                kiosk.context.set_offline(True)
            # The visitors go on through the spell: a like, another, an undo, the same like again.
            actions = [lambda k: k.press(k.shown[1]), lambda k: k.press(k.shown[2]), lambda k: k.press(k.shown[1]),
                       lambda k: k.press(k.shown[1])]  # fmt: skip
            for number, action in enumerate(actions):
                _sleep_until(down + seconds * (number + 0.5) / len(actions))
                for kiosk in pages:
                    action(kiosk)
            _sleep_until(down + seconds)
            outcome.facts["waiting_at_end_of_spell"] = [len(kiosk.waiting()) for kiosk in pages]
            outcome.facts["errors_shown_offline"] = sum(kiosk.errors_shown() for kiosk in pages)
            up = time.monotonic()
            for kiosk in pages:
                kiosk.context.set_offline(False)
            try:
                for kiosk in pages:
                    _wait(lambda kiosk=kiosk: kiosk.waiting() == [], seconds=deadline - (time.monotonic() - up), what="outbox emptied")
                outcome.recover_seconds = round(time.monotonic() - up, 1)
            except HarnessError:
                outcome.recover_seconds = None
            time.sleep(1)  # nothing more comes
            outcome.facts["errors_shown"] = sum(kiosk.errors_shown() for kiosk in pages)
            outcome.facts["waiting_after"] = [len(kiosk.waiting()) for kiosk in pages]
        finally:
            chromium.close()
    outcome.down_seconds = round(up - down, 1)
    outcome.outage = (down - clock, up - clock)
    outcome.calls = sorted((call for kiosk in pages for call in kiosk.calls), key=lambda call: call.started)
    _judge(stack, outcome, pages)
    return outcome


def _judge(stack: Stack, outcome: Outcome, pages: list[KioskPage]) -> None:
    """Every press against the rows: the ledger (lost: a press with too few rows; duplicated: one
    with too many) and the keys each page sent against the keys stored."""
    visitors = [kiosk.visitor for kiosk in pages]
    rows = stack.sql(
        "SELECT visitor_id::text, event_type, item_key, count(*) FROM recommend_interaction "
        "WHERE visitor_id::text = ANY(%s) AND event_type IN ('click', 'dislike') GROUP BY 1, 2, 3",
        (visitors,),
    )
    stored = {(visitor, event, item): count for visitor, event, item, count in rows}
    presses = [press for kiosk in pages for press in kiosk.presses]
    made = Counter((p.payload["id"], EVENT_TYPES[p.endpoint], p.payload["itemId"]) for p in presses)
    lost, duplicated = [], []
    for press in presses:
        what = (press.payload["id"], EVENT_TYPES[press.endpoint], press.payload["itemId"])
        if stored.get(what, 0) < made[what]:
            lost.append(press)
        elif stored.get(what, 0) > made[what]:
            duplicated.append(press)
    outcome.ledger = Ledger(sum(1 for call in outcome.calls if call.ok and call.endpoint in EVENT_TYPES), lost, duplicated, 0)
    outcome.facts["presses"] = {f"{v[:8]} {e} {i[-24:]}": n for (v, e, i), n in sorted(made.items())}
    outcome.facts["rows"] = {f"{v[:8]} {e} {i[-24:]}": n for (v, e, i), n in sorted(stored.items())}
    outcome.facts["unexpected_rows"] = sorted(set(stored) - set(made))
    sent = {key for kiosk in pages for key in kiosk.keys}
    keys = stack.sql(
        "SELECT key, count(*) FROM garden_idempotencykey WHERE scope = ANY(%s) GROUP BY key", ([f"kiosk:{v}" for v in visitors],)
    )
    outcome.facts["keys_sent"] = len(sent)
    outcome.facts["keys_not_stored"] = sorted(sent - {key for key, _ in keys})
    outcome.facts["failed_sends"] = sum(1 for call in outcome.calls if call.status is None)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _wait(check, *, seconds: float, what: str) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return
        time.sleep(0.2)
    raise HarnessError(f"{what}: not within {seconds:.0f} s")
