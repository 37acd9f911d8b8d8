"""A start-up check of the gardener's deployment settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def gardener_favorites(app_configs, **kwargs) -> list[CheckMessage]:
    """GARDEN_GARDENER_FAVORITES names only favorites kiosks offer (another would fill no key)."""
    from gardener.selectors import KIOSK_FAVORITES

    unknown = [f for f in settings.GARDEN_GARDENER_FAVORITES if f not in KIOSK_FAVORITES]
    if not unknown:
        return []
    return [
        Warning(
            f"GARDEN_GARDENER_FAVORITES names favorites no kiosk offers: {', '.join(unknown)}",
            hint='Use "any" or season,weather,time words as the kiosk sends them (docs/gardener.md, "Which keys").',
            id="gardener.W001",
        )
    ]
