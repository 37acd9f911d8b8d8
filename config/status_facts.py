"""Lines that apps above curation add to the System status page (curation/status.py).

The page's own app sits beside the gardener and below the live app, and imports neither; each of
them registers here, in its AppConfig.ready(), a function that says what it does now (a line of
the page's "What paints" table) and, when something is wrong, what to do about it (a line of the
page's problems). Registered in the order of INSTALLED_APPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Fact:
    """``name``: a stable id (the row's data-fact, for scripts and tests); ``label`` and ``value`` in
    the viewer's language; ``problem``: one sentence with the fix ("" when all is well); ``demo``:
    True when what runs is the demo's piece, not meant for a venue."""

    name: str
    label: str | Promise
    value: str
    problem: str = ""
    demo: bool = False


_sources: dict[str, Callable[[], list[Fact]]] = {}


def register(name: str, source: Callable[[], list[Fact]]) -> None:
    """Add (or replace, by name: ready() may run twice in tests) a source of facts."""
    _sources[name] = source


def facts() -> list[Fact]:
    return [fact for source in _sources.values() for fact in source()]
