"""The fault suite's kiosk: threads of visitors under a scenario, the like ledger it is judged by
(every like answered 200 is one row, none twice), and each scenario's record (``Outcome``)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from testkit.faults.processes import HarnessError
from testkit.faults.stack import Stack
from testkit.faults.traffic import SEARCHES, Call, post, urls_to_keys


class Kiosk:
    """A few kiosks, one thread each, each visit by a new visitor: ``/garden`` for a search key,
    then ``/like`` of one of the three images it showed (the fallback keys when the garden failed),
    and every third visit ``/gardenfromDB``. A like's visitor id is unique, so the rows of
    ``recommend_interaction`` can be matched with the record one by one. Bounded by a visit count
    per thread and a deadline; every call is recorded with the time since the kiosk started."""

    def __init__(self, stack: Stack, scenario: str, *, threads: int = 3, pause: float = 0.15, max_visits: int = 400):
        self.stack, self.scenario, self.threads, self.pause, self.max_visits = stack, scenario, threads, pause, max_visits
        self.calls: list[Call] = []
        self.clock = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def now(self) -> float:
        return time.monotonic() - self.clock

    def _record(self, call: Call) -> Call:
        with self._lock:
            self.calls.append(call)
        return call

    def _visits(self, number: int, deadline: float) -> None:
        keys = self.stack.keys
        for visit in range(self.max_visits):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            visitor = f"{self.scenario}-{number}-{visit}"
            search = SEARCHES[(number + visit) % len(SEARCHES)]
            garden = self._record(post(self.stack.base, "/garden", {"id": visitor, "emotion": search}, clock=self.clock))
            shown = keys[(visit * 3) % (len(keys) - 2) :][:3]
            like = {"id": visitor, "itemId": shown[0], "impression": shown}
            if garden.ok:
                listed = urls_to_keys(json.loads(garden.body))[:3]
                if listed:
                    like = {"id": visitor, "itemId": listed[visit % len(listed)], "impression": listed}
                if garden.headers.get("X-Recommendation-Id"):
                    like["recommendationId"] = garden.headers["X-Recommendation-Id"]
            self._record(post(self.stack.base, "/like", like, clock=self.clock))
            if visit % 3 == number % 3:
                self._record(post(self.stack.base, "/gardenfromDB", {"emotion": search}, clock=self.clock))
            self._stop.wait(self.pause)

    @contextlib.contextmanager
    def running(self, seconds: float) -> Iterator[Kiosk]:
        """Visits for at most ``seconds``; stopped when the block ends, whatever happens in it."""
        self.start(seconds)
        try:
            yield self
        finally:
            self.stop()

    def start(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self._workers = [threading.Thread(target=self._visits, args=(n, deadline), daemon=True) for n in range(self.threads)]
        for thread in self._workers:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=60)
        if any(thread.is_alive() for thread in self._workers):
            raise HarnessError("a kiosk thread did not finish within 60 s of being stopped")

    def by_status(self) -> Counter:
        return Counter("no answer" if call.status is None else call.status for call in self.calls)

    def likes(self) -> list[Call]:
        return [call for call in self.calls if call.endpoint == "/like"]


@dataclass
class Ledger:
    """The client's record of likes against the rows the database holds."""

    answered_ok: int
    lost: list[Call]  # answered 200, no row
    duplicated: list[Call]  # more than one row, or a row for a like that was answered 5xx
    stored_after_no_answer: int  # no answer at all, but stored: the client cannot know (reported, not judged)


def like_ledger(stack: Stack, kiosk: Kiosk) -> Ledger:
    rows = dict(
        stack.sql(
            "SELECT visitor_id, count(*) FROM recommend_interaction WHERE event_type = 'click' AND visitor_id LIKE %s GROUP BY visitor_id",
            (f"{kiosk.scenario}-%",),
        )
    )
    likes = kiosk.likes()
    lost = [call for call in likes if call.ok and rows.get(call.payload["id"], 0) == 0]
    duplicated = [
        call
        for call in likes
        if rows.get(call.payload["id"], 0) > 1 or (call.status is not None and call.status >= 500 and rows.get(call.payload["id"], 0))
    ]
    unknown = sum(1 for call in likes if call.status is None and rows.get(call.payload["id"], 0))
    return Ledger(sum(1 for call in likes if call.ok), lost, duplicated, unknown)


def recovery_seconds(calls: list[Call], since: float) -> float:
    """Seconds from ``since`` (a part back up) to the end of the last kiosk call that was not
    answered 200; 0 when every call after it was."""
    failing = [call.ended for call in calls if call.started >= since and not call.ok]
    return round(max(failing) - since, 1) if failing else 0.0


@dataclass
class Outcome:
    fault: str
    calls: list[Call] = field(default_factory=list)
    ledger: Ledger | None = None
    recover_seconds: float | None = None  # None: did not recover within the scenario's deadline
    outage: tuple[float, float] = (0.0, 0.0)  # on the kiosk's clock
    down_seconds: float = 0.0  # from the kill to the part answering again
    facts: dict = field(default_factory=dict)

    def by_status(self) -> Counter:
        return Counter("no answer" if call.status is None else call.status for call in self.calls)

    def during_outage(self) -> list[Call]:
        start, end = self.outage
        return [call for call in self.calls if call.started < end and call.ended > start]

    def outage_by_endpoint(self) -> dict[str, Counter]:
        """Answers to the calls that overlapped the outage, per endpoint."""
        answers: dict[str, Counter] = {}
        for call in self.during_outage():
            answers.setdefault(call.endpoint, Counter())["no answer" if call.status is None else call.status] += 1
        return answers
