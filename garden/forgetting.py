"""Visitor links kept by apps above the garden, cleared by a deletion request and by retention.

The privacy code (recommend.retention) sits below apps that also keep a visitor id (the live
picture's requests: live.services), so those apps register a forgetter here when they start and the
deletion request calls every one. A forgetter takes ``visitor_id``: that visitor's links now, or
``None``: every link past its time (the daily retention run). It returns how many it cleared.
"""

from __future__ import annotations

from collections.abc import Callable

Forgetter = Callable[..., int]
_forgetters: list[Forgetter] = []


def register(forgetter: Forgetter) -> None:
    if forgetter not in _forgetters:
        _forgetters.append(forgetter)


def forget(*, visitor_id: str | None) -> int:
    """Run every registered forgetter for ``visitor_id`` (None: the retention sweep); rows cleared."""
    return sum(forgetter(visitor_id=visitor_id) for forgetter in _forgetters)
