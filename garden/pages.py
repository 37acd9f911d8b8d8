"""Kiosk web pages: thin Django views that render templates.

The pages' JavaScript (garden/static/kiosk/) talks only to the public APIs (/emotion, /garden,
/like, /live); nothing here writes models. The share page (``GET /image?content=<key>``) and its QR
code read one serving image (or passed live picture) through garden.selectors. The staff text-to-image page is
generation.pages.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_safe

from config.qr import qr_svg
from garden import selectors
from garden.keys import EMOTIONS, FAVORITE_SEASONS, FAVORITE_TIMES, FAVORITE_WEATHERS
from garden.languages import pinned_urls, second_language
from garden.visitors import InvalidVisitorId, parse_visitor_id
from garden.visitors import visitor_code as code_for
from garden.words import FAVORITE_NAMES, favorite_words
from screens.beacon import beacon_context

# The favorite picker's values, in garden.keys' order, with their names.
SEASONS = [(word, FAVORITE_NAMES[word]) for word in FAVORITE_SEASONS]
WEATHERS = [(word, FAVORITE_NAMES[word]) for word in FAVORITE_WEATHERS]
TIMES = [(word, FAVORITE_NAMES[word]) for word in FAVORITE_TIMES]

# The emotions' names as visitors read them: "a garden for a happy mood" (lower case in English).
EMOTION_NAMES = {
    "happy": pgettext_lazy("emotion", "happy"),
    "surprised": pgettext_lazy("emotion", "surprised"),
    "calm": pgettext_lazy("emotion", "calm"),
    "angry": pgettext_lazy("emotion", "angry"),
    "fear": pgettext_lazy("emotion", "fear"),
    "confused": pgettext_lazy("emotion", "confused"),
    "disgusted": pgettext_lazy("emotion", "disgusted"),
    "sad": pgettext_lazy("emotion", "sad"),
}


def choices(pairs) -> list[tuple[str, str, str]]:
    """(value, name, name in GARDEN_SECOND_LANGUAGE or "") for the favorite pickers."""
    second = second_language()
    rows = []
    for value, name in pairs:
        other = ""
        if second:
            with translation.override(second):
                other = str(name)
        rows.append((value, str(name), other))
    return rows


# The kiosk API that paints a picture for the visitor in front of the kiosk (the live app; a fixed
# path of the kiosk API, like /garden and /like).
LIVE_URL = "/live"

# Share links are stable: their QR codes may be cached for a day by browsers and proxies.
QR_MAX_AGE = 24 * 60 * 60


@require_GET
def garden_kiosk(request):
    """The emotion garden: camera → apparent expression → favorite → garden, three at a time.

    The idle reset's delay comes from GARDEN_KIOSK_IDLE_SECONDS (a data attribute); the page's
    own ?idle=<seconds> overrides it per kiosk, read by the script. ``?layout=low`` puts every
    control within a seated visitor's reach on a portrait screen (docs/kiosk.md).
    """
    idle_seconds = max(0, int(settings.GARDEN_KIOSK_IDLE_SECONDS))
    context = {
        "seasons": choices(SEASONS),
        "weathers": choices(WEATHERS),
        "times": choices(TIMES),
        "emotions": EMOTIONS,
        "idle_seconds": idle_seconds,
        "qr_url": reverse("share-image-qr"),
        "code_url": reverse("kiosk-visitor-code"),
        # The outbox keeps likes through a network drop for this long, and at most this many.
        "outbox_max_age": max(1, int(settings.GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS)),
        "outbox_max_events": max(1, int(settings.GARDEN_KIOSK_OUTBOX_MAX_EVENTS)),
        # The live picture's API (POST /live, docs/live.md): absent when GARDEN_LIVE_ENABLED is off,
        # so the page never asks for one.
        "live_url": LIVE_URL if settings.GARDEN_LIVE_ENABLED else "",
        # ?layout=low: every control within a seated visitor's reach on a portrait screen (docs/kiosk.md).
        "body_class": "page-garden layout-low" if request.GET.get("layout") == "low" else "page-garden",
        # The screen's heartbeat and remote control (screens, docs/fleet.md): the switch-language
        # command sends it to this page pinned to the chosen language (from `/`: /<code>/kiosk/).
        "screen_beacon": beacon_context(kind="kiosk", languages=pinned_urls(request, fallback="kiosk-pinned")),
    }
    return render(request, "kiosk/garden.html", context)


@require_GET
def visitor_code(request):
    """``GET /kiosk/visitor-code?id=<visitor id>``: the short code the kiosk shows a visitor, which
    they can quote to have their data deleted (docs/privacy.md). Derived from the id; nothing stored."""
    try:
        visitor_id = parse_visitor_id(request.GET.get("id"))
    except InvalidVisitorId as exc:
        return JsonResponse({"detail": exc.message}, status=400)
    response = JsonResponse({"code": code_for(visitor_id)})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def emotion_check(request):
    """Camera → /emotion → the result, nothing else (a test page for the face analysis)."""
    return render(request, "kiosk/emotion.html", {"body_class": "page-emotion"})


@require_safe
def share_image(request):
    """The landing page of one serving image, or of a live picture that passed the safety check
    (the original's share page, escaped and checked).

    Anything else gets the same 404 page, which never repeats the input.
    """
    image = selectors.shared_image(request.GET.get("content"))
    if image is None:
        # The language switch goes back to the bare path: this page repeats nothing it was sent.
        return render(request, "kiosk/share_missing.html", {"language_next": request.path}, status=404)
    context = {
        "image": image,
        "image_url": selectors.image_url(image.key, request=request),
        "share_url": selectors.share_url(image.key, request=request),
        "filename": PurePosixPath(image.key).name,
        "mood": EMOTION_NAMES.get(image.emotion, image.emotion),
        "favorite": favorite_words(image.favorite) if image.favorite else "",
        "og_locale": translation.to_locale(translation.get_language()),
    }
    return render(request, "kiosk/share.html", context)


@require_safe
def share_image_qr(request):
    """``GET /image/qr?content=<key>``: the QR code (SVG) of a shared image's page (garden.selectors.shared_image)."""
    image = selectors.shared_image(request.GET.get("content"))
    if image is None:
        return HttpResponse("Not a serving image.", status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(qr_svg(selectors.share_url(image.key, request=request)), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={QR_MAX_AGE}"
    if not settings.GARDEN_SHARE_BASE_URL:
        patch_vary_headers(response, ["Host"])  # the code holds the request's host
    return response
