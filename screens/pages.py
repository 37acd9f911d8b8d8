"""The enrolment page (docs/fleet.md), opened once on a device. What a page needs to be a screen
(the beacon's context) is screens.beacon."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from screens import services
from screens.models import Screen


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
