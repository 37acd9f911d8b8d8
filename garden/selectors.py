"""Reads for garden images."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from garden.models import Image


def serving_images(*, search_key: str) -> QuerySet[Image]:
    """Every serving image of that search key, newest first (what /gardenfromDB lists)."""
    return Image.objects.filter(status=Image.Status.SERVING, search_key=search_key).order_by("-created_at", "-id")


def serving_images_for_emotion(*, emotion: str) -> QuerySet[Image]:
    """Serving images of an emotion, any favorite (the fallback when a favorite has too few)."""
    return Image.objects.filter(status=Image.Status.SERVING, emotion=emotion).order_by("-created_at", "-id")


def image_url(key: str, *, request=None) -> str:
    """Absolute URL that ends with the key (kiosks cut the key out of it)."""
    if settings.GARDEN_PUBLIC_BASE_URL:
        return f"{settings.GARDEN_PUBLIC_BASE_URL.rstrip('/')}/{key}"
    # Storages percent-encode the commas of "spring,cloudy,day"; kiosks cut the key out of the URL
    # and send it back to /like, so keep commas literal (valid in a path) as the original did.
    url = default_storage.url(key).replace("%2C", ",")
    if request is not None and not url.startswith(("http://", "https://")):
        url = request.build_absolute_uri(url)
    return url


def garden_listing(images: Iterable[Image], *, request=None) -> dict[str, list[dict[str, str]]]:
    """The /garden wire format: landscape and portrait lists, order kept."""
    listing: dict[str, list[dict[str, str]]] = {"landscape": [], "portrait": []}
    for image in images:
        side = "portrait" if image.is_portrait else "landscape"
        listing[side].append({"url": image_url(image.key, request=request), "emotion": image.emotion})
    return listing
