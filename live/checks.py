"""``manage.py check``: warn when live pictures would be painted but never shown."""

from __future__ import annotations

from django.core.checks import CheckMessage, Warning, register

from safety.selectors import live_pictures_withheld


@register("live")
def live_pictures_shown(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Not a deploy-only check: a CPU box with the image check off meets it on its first ``make run``."""
    withheld = live_pictures_withheld()
    if not withheld:
        return []
    return [Warning(withheld, hint="docs/live.md#the-image-check: POST /live answers 409 image_check_off meanwhile.", id="live.W001")]
