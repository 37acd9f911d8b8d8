"""Sections that other apps add to the insights dashboard.

The insights page (insights/admin.py) and the apps that report on their own work (the gardener)
sit side by side in the top layer and import nothing of each other. Such an app registers a section
here, in its AppConfig.ready(); the insights page renders every registered section the viewer may
see, below its own headline and coverage, in the order registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Section:
    """``render(request)``: the section's HTML for this viewer (escaped by its own template), or
    None where the viewer may not see it."""

    name: str
    title: str | Promise  # a lazy translation: the viewer's language
    render: Callable[[HttpRequest], str | None]


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add (or replace, by name: ready() may run twice in tests) a section."""
    _sections[section.name] = section


def rendered(request: HttpRequest) -> list[tuple[Section, SafeString]]:
    """The sections this viewer may see, each with its HTML."""
    shown = []
    for section in _sections.values():
        html = section.render(request)
        if html is not None:
            shown.append((section, mark_safe(html)))  # its own template escaped it
    return shown
