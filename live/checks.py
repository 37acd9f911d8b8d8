"""``manage.py check``: warn when live pictures would be painted but never shown."""

from __future__ import annotations

from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError

from library.selectors import live_state
from safety.selectors import live_pictures_withheld


@register("live")
def live_pictures_shown(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Not a deploy-only check: a CPU box with the image check off meets it on its first ``make run``."""
    withheld = live_pictures_withheld()
    if not withheld:
        return []
    return [Warning(withheld, hint="docs/live.md#the-image-check: POST /live answers 409 image_check_off meanwhile.", id="live.W001")]


@register("live")
def live_model_chosen(app_configs=None, **kwargs) -> list[CheckMessage]:
    """No model paints live pictures: the kiosk's tile never appears. Reads the library's rows only
    when there is a library (without one it needs no query)."""
    try:
        problem = live_state().problem
    except DatabaseError:  # not migrated yet (migrate runs the checks before it makes the tables), or down
        return []
    if not problem:
        return []
    return [Warning(problem, hint="docs/live.md#the-live-model", id="live.W002")]
