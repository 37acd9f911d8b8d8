"""The admin index's *Recent actions*, each object named as it is named now, in the page's language.

Django's LogEntry keeps ``object_repr`` as it was written, in the language of that moment ("Job
1a2b3c4d" stays English in the Korean admin). Objects that still exist are named again here (one
query per kind of object among the entries); a deleted one keeps the name it had.
"""

from __future__ import annotations

from collections import defaultdict

from django import template
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError

register = template.Library()


@register.simple_tag(takes_context=True)
def recent_actions(context, limit: int = 10) -> list[LogEntry]:
    """The user's last ``limit`` entries, each with ``shown_repr``: the object's name now, else the stored one."""
    entries = list(LogEntry.objects.filter(user=context["user"]).select_related("content_type").order_by("-action_time")[:limit])
    wanted = defaultdict(set)
    for entry in entries:
        entry.shown_repr = entry.object_repr
        if entry.content_type is not None and not entry.is_deletion():
            wanted[entry.content_type].add(entry.object_id)
    named: dict[tuple[int, str], str] = {}
    for content_type, ids in wanted.items():
        if content_type.model_class() is None:  # a model since removed
            continue
        try:
            found = list(content_type.get_all_objects_for_this_type(pk__in=list(ids)))
        except (ValidationError, ValueError):  # an id its model no longer reads (a changed key type)
            continue
        named |= {(content_type.pk, str(obj.pk)): str(obj) for obj in found}
    for entry in entries:
        entry.shown_repr = named.get((entry.content_type_id, entry.object_id), entry.object_repr)
    return entries
