"""The admin index's *Recent actions*, each object named as it is named now, in the page's language.

Django's LogEntry keeps ``object_repr`` as it was written, in the language of that moment ("Job
1a2b3c4d" stays English in the Korean admin). Objects that still exist are named again here (one
query per kind of object among the entries); a deleted one keeps the name it had.
"""

from __future__ import annotations

from django import template
from django.contrib.admin.models import LogEntry

from curation import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def recent_actions(context, limit: int = 10) -> list[LogEntry]:
    """The user's last ``limit`` entries, each with ``shown_repr`` (curation.selectors.recent_actions)."""
    return selectors.recent_actions(context["user"], limit)
