"""Display zones over HTTP: ``POST /updateDisplay`` (staff), and what screens read (public).

Edge screens poll ``/display/<zone>/img<N><h|v>.jpeg?<timestamp>`` (docs/contracts.md); signage
pages poll ``/display/<zone>/state``. Both answer ``Cache-Control: no-cache`` with an ETag, so a
screen sees a change on its next poll and an unchanged image costs a 304.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiResponse, extend_schema

from config.api import LenientJSONParser, StaffOrToken, StaffOrTokenAPIView, validated
from displays import selectors, services
from displays.serializers import BODY_SCHEMA, UpdateDisplaySerializer
from garden import labels
from screens.beacon import beacon_context

NO_CACHE = "no-cache, max-age=0"


class DisplayStaffOrToken(StaffOrToken):
    message = "Display zones need a staff session or an API token."


class UpdateDisplayView(StaffOrTokenAPIView):
    """Copy chosen serving images to a zone's fixed keys (the original's body and answer)."""

    permission_classes = [DisplayStaffOrToken]
    parser_classes = [LenientJSONParser]

    @extend_schema(
        request={"application/json": BODY_SCHEMA},  # old devices may send it as text/plain
        responses={
            200: OpenApiResponse(description="Plain text `sucess` (sic, the original's spelling)"),
            400: OpenApiResponse(description="Invalid zone, non-serving or malformed key, over 8 images (names the key)"),
            404: OpenApiResponse(description="A key names no serving image"),
            503: OpenApiResponse(description="Storage failed; the zone still shows its previous images"),
        },
        summary="Show serving images on a display zone's edge screens",
    )
    def post(self, request):
        data = validated(UpdateDisplaySerializer, request)
        selection = services.Selection(landscape=data["landscape"], portrait=data["portrait"])
        services.update_zone(zone=data["zone"], selection=selection, user=request.user)
        return HttpResponse("sucess", content_type="text/plain; charset=utf-8")


def _etag(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@require_safe
def slot_file(request, zone: str, slot: str, orientation: str):
    """One slot file at the exact path old screens poll; their ``?<timestamp>`` is ignored."""
    number = int(slot)
    if not 1 <= number <= selectors.SLOTS:
        raise Http404("No such slot.")
    content = selectors.read_slot(zone=zone, slot=number, orientation=orientation)
    if content is None:
        raise Http404("This slot is empty.")
    etag = _etag(content)
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type="image/jpeg")
    response["ETag"] = etag
    response["Cache-Control"] = NO_CACHE
    return response


@require_safe
def zone_state(request, zone: str):
    """The signage page's poll: version and slot URLs (tiny; no-cache)."""
    response = JsonResponse(selectors.zone_state(name=zone))
    response["Cache-Control"] = NO_CACHE
    return response


def _language_urls(request) -> dict[str, str]:
    urls = {}
    for code, _name in settings.LANGUAGES:
        query = request.GET.copy()
        query["lang"] = code
        urls[code] = f"{request.path}?{query.urlencode()}"
    return urls


@require_safe
@never_cache
def signage(request, zone: str):
    """A full-screen slideshow of one zone for screens that run a browser.

    Its language is the screen's ``?lang=``, else the zone's, else GARDEN_LANGUAGE: a screen is a
    device, so its browser's Accept-Language and a visitor's cookie do not count here.
    """
    pinned = selectors.pinned_language(request.GET.get("lang", ""))
    language = pinned or selectors.zone_language(selectors.zone_by_name(zone))
    context = {
        "zone": zone,
        "state": selectors.zone_state(name=zone),
        "rotate_seconds": max(1, int(settings.DISPLAY_ROTATE_SECONDS)),
        "poll_seconds": max(1, int(settings.DISPLAY_POLL_SECONDS)),
        "pinned": pinned,
        # The screen's heartbeat and remote control (screens, docs/fleet.md): switching a screen's
        # language opens this page with ?lang=<code>.
        "screen_beacon": beacon_context(kind="signage", languages=_language_urls(request)),
    }
    with translation.override(language):
        context["ai_label_text"] = labels.ai_label().current  # in the page's language
        response = render(request, "displays/signage.html", context)
    response["Content-Language"] = language  # LocaleMiddleware keeps a header already set
    return response
