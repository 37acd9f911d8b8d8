"""Reads of the safety settings that other screens repeat: one place says whether a live picture
could ever reach a visitor (POST /live, the live model action, the System status page and
``manage.py check`` all ask here, docs/live.md#the-image-check)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext


def live_pictures_withheld() -> str:
    """Why no live picture painted now would ever be shown ("" when they can be).

    The kiosk shows a live picture only once the image check passed it (or a curator released it,
    long after the visitor left): with the check off, every one is stored unchecked and withheld.
    """
    if settings.GARDEN_LIVE_ENABLED and not settings.GARDEN_SAFETY_IMAGE_CHECK:
        return gettext(
            "Live pictures would never be shown: the image check is off, so each one would be stored unchecked and "
            "withheld from the visitor. Turn the image check on, or turn live pictures off (docs/live.md, The image check)."
        )
    return ""
