"""Kiosk web pages: thin Django views that render templates.

The pages' JavaScript (garden/static/kiosk/) talks only to the public APIs (/emotion, /garden,
/like); nothing here writes models. The share page (``GET /image?content=<key>``) and its QR
code read one serving image through garden.selectors. The staff text-to-image page is
generation.pages.
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath

import segno
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_safe

from garden import selectors
from garden.keys import EMOTIONS
from garden.visitors import InvalidVisitorId, parse_visitor_id
from garden.visitors import visitor_code as code_for

# The favorite picker's values (docs/contracts.md: "<season>,<weather>,<time>"), with bilingual labels.
SEASONS = [("spring", "봄", "Spring"), ("summer", "여름", "Summer"), ("autumn", "가을", "Autumn"), ("winter", "겨울", "Winter")]
WEATHERS = [("sunny", "맑음", "Sunny"), ("cloudy", "흐림", "Cloudy"), ("rainy", "비", "Rainy"), ("snowy", "눈", "Snowy")]
TIMES = [
    ("day", "낮", "Day"),
    ("sunset", "해질녘", "Sunset"),
    ("the-early-dawn", "새벽", "Early dawn"),
    ("the-middle-of-the-night", "한밤중", "Middle of the night"),
]


# The emotions' Korean names (as garden/static/kiosk/common.js shows them).
EMOTION_KO = {
    "happy": "행복",
    "surprised": "놀람",
    "calm": "평온",
    "angry": "화남",
    "fear": "두려움",
    "confused": "혼란",
    "disgusted": "혐오",
    "sad": "슬픔",
}
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
        "seasons": SEASONS,
        "weathers": WEATHERS,
        "times": TIMES,
        "emotions": EMOTIONS,
        "idle_seconds": idle_seconds,
        "qr_url": reverse("share-image-qr"),
        "code_url": reverse("kiosk-visitor-code"),
        "low_layout": request.GET.get("layout") == "low",
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
    return render(request, "kiosk/emotion.html")


@require_safe
def share_image(request):
    """The landing page of one serving image (the original's share page, escaped and checked).

    Anything but the key of a serving image gets the same 404 page, which never repeats the input.
    """
    image = selectors.shared_image(request.GET.get("content"))
    if image is None:
        return render(request, "kiosk/share_missing.html", status=404)
    context = {
        "image": image,
        "image_url": selectors.image_url(image.key, request=request),
        "share_url": selectors.share_url(image.key, request=request),
        "filename": PurePosixPath(image.key).name,
        "emotion_ko": EMOTION_KO.get(image.emotion, image.emotion),
        "favorite": image.favorite.replace(",", ", ").replace("-", " "),
    }
    return render(request, "kiosk/share.html", context)


def qr_svg(text: str) -> bytes:
    """A QR code of ``text`` as a scalable SVG: black on white with the standard 4-module quiet zone."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", border=4, xmldecl=False, omitsize=True, dark="#000", light="#fff")
    return buffer.getvalue()


@require_safe
def share_image_qr(request):
    """``GET /image/qr?content=<key>``: the QR code (SVG) of a serving image's share page."""
    image = selectors.shared_image(request.GET.get("content"))
    if image is None:
        return HttpResponse("Not a serving image.", status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(qr_svg(selectors.share_url(image.key, request=request)), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={QR_MAX_AGE}"
    if not settings.GARDEN_SHARE_BASE_URL:
        patch_vary_headers(response, ["Host"])  # the code holds the request's host
    return response
