"""Reads for display zones: what a zone shows, its slot files, and the images a live zone follows."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import translation

from displays.models import DisplayZone
from garden import keys
from garden.models import Image
from recommend.models import ImageStat
from recommend.ranking import SEGMENT_ALL

# Slots per orientation: the original copied up to 8 images per list (img1…img8).
SLOTS = 8
# The wire names of the two lists and the key suffix of each.
SIDES = {"landscape": keys.LANDSCAPE, "portrait": keys.PORTRAIT}


def zone_by_name(name: str) -> DisplayZone | None:
    return DisplayZone.objects.filter(name=name).first()


def slot_keys(*, zone: str, side: str) -> list[str]:
    """The fixed keys of one orientation of a zone, slot 1 first."""
    return [keys.display_key(zone=zone, slot=slot, orientation=SIDES[side]) for slot in range(1, SLOTS + 1)]


def slot_url(*, zone: str, slot: int, orientation: str, version: int) -> str:
    """The app's own URL of a slot file (served with no-cache), busted by the zone's version."""
    path = reverse("display-slot", kwargs={"zone": zone, "slot": slot, "orientation": orientation})
    return f"{path}?v={version}"


def zone_language(zone: DisplayZone | None) -> str:
    """The language a zone's signage page opens in: the zone's, else the installation's (GARDEN_LANGUAGE)."""
    return (zone.language if zone is not None else "") or settings.LANGUAGE_CODE


def pinned_language(value: str) -> str:
    """The language a screen's ``?lang=`` names when we ship it (``ko-KR`` counts as ``ko``), else ""."""
    if not value:
        return ""
    try:
        return translation.get_supported_language_variant(value.lower())  # LANGUAGES' codes are lower case
    except LookupError:
        return ""


def zone_state(*, name: str) -> dict:
    """What a signage page shows: the zone's version and the URLs of its filled slots, in order.

    An unknown (not yet created) zone is an empty one at version 0 with ``exists`` false, so a
    screen can be set up before its zone is created, and says so (a mistyped address is not a zone
    waiting for images). ``language`` is the zone's (zone_language): a page not pinned by ``?lang=``
    reloads in it when it changes.
    """
    zone = zone_by_name(name)
    if zone is None:
        return {"zone": name, "exists": False, "version": 0, "live": "", "language": zone_language(None), "landscape": [], "portrait": []}
    state: dict = {"zone": zone.name, "exists": True, "version": zone.version, "live": zone.live_emotion, "language": zone_language(zone)}
    for side, orientation in SIDES.items():
        count = len(getattr(zone, side))
        state[side] = [slot_url(zone=zone.name, slot=slot, orientation=orientation, version=zone.version) for slot in range(1, count + 1)]
    return state


def read_slot(*, zone: str, slot: int, orientation: str) -> bytes | None:
    """The bytes an edge screen gets for one slot, or None when the slot is empty."""
    key = keys.display_key(zone=zone, slot=slot, orientation=orientation)
    try:
        with default_storage.open(key, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def most_liked_keys(*, emotion: str, side: str, limit: int = SLOTS) -> list[str]:
    """Serving images of an emotion, most liked by everyone (segment "*") first, then newest."""
    likes = ImageStat.objects.filter(image=OuterRef("pk"), segment=SEGMENT_ALL).values("likes")[:1]
    images = (
        Image.objects.serving()
        .filter(emotion=emotion, orientation=SIDES[side])
        .annotate(like_count=Coalesce(Subquery(likes, output_field=IntegerField()), Value(0)))
        .order_by("-like_count", "-created_at", "-id")
    )
    return list(images.values_list("key", flat=True)[:limit])


def serving_by_key(keys_wanted: list[str]) -> dict[str, Image]:
    """Serving rows for these keys (missing keys are simply absent)."""
    return {image.key: image for image in Image.objects.serving().with_keys(set(keys_wanted))}


def thumbnail_url(image: Image) -> str:
    """The image's thumbnail (garden.thumbnails), or the admin URL that renders it on first view."""
    if image.thumbnail_key:
        return default_storage.url(image.thumbnail_key)
    return reverse("admin:garden_image_thumbnail", args=[image.pk])


def picker_images(*, emotion: str = "", side: str = "landscape", limit: int = 60, offset: int = 0) -> QuerySet[Image]:
    """Serving images for the admin page's picker: one orientation, optionally one emotion, newest first."""
    images = Image.objects.serving().filter(orientation=SIDES.get(side, keys.LANDSCAPE))
    if emotion:
        images = images.filter(emotion=emotion)
    return images.order_by("-created_at", "-id").only("pk", "key", "emotion", "favorite", "orientation", "thumbnail_key")[
        offset : offset + limit
    ]
