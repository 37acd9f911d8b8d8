"""Kiosk web pages: thin Django views that render templates.

The pages' JavaScript (garden/static/kiosk/) talks only to the public APIs (/emotion, /garden,
/like, the job API); nothing here reads or writes models.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from garden.keys import EMOTIONS

# The favorite picker's values (CONTRACTS.md: "<season>,<weather>,<time>"), with bilingual labels.
SEASONS = [("spring", "봄", "Spring"), ("summer", "여름", "Summer"), ("autumn", "가을", "Autumn"), ("winter", "겨울", "Winter")]
WEATHERS = [("sunny", "맑음", "Sunny"), ("cloudy", "흐림", "Cloudy"), ("rainy", "비", "Rainy"), ("snowy", "눈", "Snowy")]
TIMES = [
    ("day", "낮", "Day"),
    ("sunset", "해질녘", "Sunset"),
    ("the-early-dawn", "새벽", "Early dawn"),
    ("the-middle-of-the-night", "한밤중", "Middle of the night"),
]
# Offered by the text-to-image page (the original's three resolutions).
JOBS_URL = "/api/v1/jobs"
DEFAULT_PROMPT = "a calm garden of flowers, fantasy, concept art, highly detailed, sharp focus, digital art"
RESOLUTIONS = [(768, 512, "Basic 768×512"), (1024, 600, "WSVGA 1024×600"), (1280, 800, "WXGA 1280×800")]


@require_GET
def garden_kiosk(request):
    """The emotion garden: camera → apparent expression → favorite → garden, three at a time.

    The idle reset's delay comes from GARDEN_KIOSK_IDLE_SECONDS (a data attribute); the page's
    own ?idle=<seconds> overrides it per kiosk, read by the script.
    """
    idle_seconds = max(0, int(settings.GARDEN_KIOSK_IDLE_SECONDS))
    context = {"seasons": SEASONS, "weathers": WEATHERS, "times": TIMES, "emotions": EMOTIONS, "idle_seconds": idle_seconds}
    return render(request, "kiosk/garden.html", context)


@require_GET
def emotion_check(request):
    """Camera → /emotion → the result, nothing else (a test page for the face analysis)."""
    return render(request, "kiosk/emotion.html")


@require_GET
def text2image(request):
    """Staff only: a prompt, a resolution, a progress bar from the job API, the results."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not request.user.is_staff:
        raise PermissionDenied("Staff only.")
    context = {"resolutions": RESOLUTIONS, "jobs_url": JOBS_URL, "default_prompt": DEFAULT_PROMPT}
    return render(request, "kiosk/text2image.html", context)
