"""The app's clock: what the gardener's and the recommender's windows read as "now".

Production reads the wall clock (``django.utils.timezone.now``), unchanged. A simulation installs
a ``SimulatedClock`` (``install``) that it advances itself, e.g. by a few seconds per simulated
visitor, so the windows (the recommender's recent and late-commit windows, the gardener's day and
trial patience) and the stamps they compare against (events, promotions, gardener actions, jobs)
mean the same on every machine, whatever its speed or load (bench/gardener.py).

Only the places where the gardener and the recommender read or write the stamps their windows
compare go through ``now()``; the rest of the app reads ``timezone.now()`` directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone


class SimulatedClock:
    """A clock that moves only when told to (``advance``)."""

    def __init__(self, start: datetime) -> None:
        if timezone.is_naive(start):
            raise ValueError("a simulated clock starts at an aware datetime")
        self.moment = start.astimezone(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.moment += timedelta(seconds=seconds)
        return self.moment


_installed: SimulatedClock | None = None


def now() -> datetime:
    """The installed simulated clock's moment, else the wall clock's (``timezone.now()``)."""
    return _installed.now() if _installed is not None else timezone.now()


def install(clock: SimulatedClock | None) -> None:
    """Make ``clock`` this process's "now" (None: the wall clock again)."""
    global _installed
    _installed = clock


def installed() -> SimulatedClock | None:
    return _installed
