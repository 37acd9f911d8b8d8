"""screens.W001: the per-screen beat limit leaves no room for the beats themselves."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning


@register("screens")
def beat_limit_fits(app_configs=None, **kwargs) -> list[CheckMessage]:
    beats = 60 / max(1.0, settings.SCREENS_BEAT_SECONDS)
    if 2 * beats <= settings.SCREENS_BEATS_PER_MINUTE:
        return []
    return [
        CheckWarning(
            f"GARDEN_SCREENS_BEATS_PER_MINUTE={settings.SCREENS_BEATS_PER_MINUTE} is under twice the {beats:g} beats a minute "
            f"that GARDEN_SCREENS_BEAT_SECONDS={settings.SCREENS_BEAT_SECONDS:g} makes: screens will be refused (429) and look silent.",
            hint="Raise GARDEN_SCREENS_BEATS_PER_MINUTE (a page also beats at once to acknowledge a command).",
            id="screens.W001",
        )
    ]
