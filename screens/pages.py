"""What a page needs to be a screen, and the enrolment page (docs/fleet.md).

``beacon(...)`` is the context of ``screens/_beacon.html``, which the kiosk page (garden) and the
signage page (displays) include: the beat's address and interval, the page version, the screen's
kind, its language addresses (for the switch-language command) and the maintenance notice. The
pages' scripts start ``GardenScreen`` (screens/static/screens/screen.js) with their own hooks.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.version import page_version
from screens import services
from screens.models import Screen


def beacon(*, kind: str, languages: dict[str, str]) -> dict:
    """The beacon's context for one page: ``languages`` maps each language code to this page's address in it."""
    return {
        "kind": kind,
        "beat_url": reverse("screens-beat"),
        "interval": settings.SCREENS_BEAT_SECONDS,
        "version": page_version(),
        "heap_limit": settings.SCREENS_HEAP_LIMIT_MB * 1024 * 1024,
        "languages": languages,
    }


@require_GET
@never_cache
def enrol_page(request, token: str):
    """``/screens/enrol/<token>``: opened once on the device. It checks the link (without using it:
    link previews and QR scanners fetch it too), then its script takes the secret and opens the page."""
    try:
        screen: Screen | None = services.screen_for_token(token)
    except services.EnrolmentInvalid:
        screen = None
    context = {"screen": screen, "token": token if screen else "", "enrol_url": reverse("screens-enrol")}
    response = render(request, "screens/enrol.html", context, status=200 if screen else 404)
    response["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return response
