"""What a page needs to be a screen: the context of ``screens/_beacon.html``, which the kiosk page
(garden) and the signage page (displays) include (docs/fleet.md).

It carries the beat's address and interval, the page version, the screen's kind, its language
addresses (for the switch-language command) and the heap limit. The pages' scripts start
``GardenScreen`` (screens/static/screens/screen.js) with their own hooks.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from config.version import page_version


def beacon_context(*, kind: str, languages: dict[str, str]) -> dict:
    """The beacon's context for one page: ``languages`` maps each language code to this page's address in it."""
    return {
        "kind": kind,
        "beat_url": reverse("screens-beat"),
        "interval": settings.SCREENS_BEAT_SECONDS,
        "version": page_version(),
        "heap_limit": settings.SCREENS_HEAP_LIMIT_MB * 1024 * 1024,
        "languages": languages,
    }
