"""Thumbnails of garden images: small WebP files under ``thumbs/``, key in ``Image.thumbnail_key``.

An image-level concern shared by two apps: generation makes each thumbnail in the worker right
after it stores the image (so review pages never wait), and curation makes the missing ones
lazily on first view in the admin or in bulk (``manage.py make_thumbnails``) — imported images
arrive without them. The file is keyed by row id and content hash, not by image key, so
promotion and demotion move the original and leave the thumbnail where it is; a purge deletes
it with the image (``garden.services.purge_rejected``).
"""

from __future__ import annotations

import io
import logging

from django.db.models import QuerySet
from PIL import Image as PILImage

from garden import services
from garden.models import Image
from provenance import xmp

log = logging.getLogger(__name__)

THUMBNAIL_PREFIX = "thumbs"
# Grid cells are at most 200 CSS px wide; 320 px keeps them sharp on 1.5x screens, in a few KB.
THUMBNAIL_BOX = (320, 320)
THUMBNAIL_QUALITY = 72


def thumbnail_key_for(*, image: Image) -> str:
    # Keyed by row id, not by image key: the key changes on promotion, the thumbnail need not.
    return f"{THUMBNAIL_PREFIX}/{image.pk}-{(image.content_hash or 'nohash')[:12]}.webp"


def render_thumbnail(content: bytes) -> bytes:
    """A small WebP that keeps the original's XMP packet (the AI-made marking, docs/provenance.md)."""
    with PILImage.open(io.BytesIO(content)) as picture:
        packet = picture.info.get("xmp") or b""
        # JPEG draft mode decodes at 1/2…1/8 scale, so a large original shrinks several times faster.
        picture.draft("RGB", THUMBNAIL_BOX)
        picture = picture.convert("RGB")
        picture.thumbnail(THUMBNAIL_BOX, PILImage.Resampling.LANCZOS)
        buffer = io.BytesIO()
        packet = packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
        picture.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=4, **(xmp.save_options("WEBP", packet) if packet else {}))
    return buffer.getvalue()


def ensure_thumbnail(*, image: Image, content: bytes | None = None) -> str:
    """The image's thumbnail key, rendering and storing it first if it has none (done once).

    ``content`` is the original's bytes when the caller has them at hand (generation just wrote
    them), which saves reading the file back from storage.
    """
    if image.thumbnail_key:
        return image.thumbnail_key
    if content is None:
        for _attempt in range(2):
            try:
                content = services.read_file(image.key)
                break
            except FileNotFoundError:
                # Promoted or demoted meanwhile: the file moved with the key; read the row again.
                image.refresh_from_db(fields=["key", "thumbnail_key"])
                if image.thumbnail_key:
                    return image.thumbnail_key
        else:
            raise FileNotFoundError(image.key)
    key = thumbnail_key_for(image=image)
    services.write_file(key=key, content=render_thumbnail(content))
    Image.objects.filter(pk=image.pk).update(thumbnail_key=key)
    image.thumbnail_key = key
    return key


def forget_thumbnail(image: Image) -> str:
    """Clear the picture's thumbnail key (its file was replaced); returns the old key, whose file the caller drops."""
    old = image.thumbnail_key
    image.thumbnail_key = ""
    Image.objects.with_id(image.pk).update(thumbnail_key="")
    return old


def generate_missing_thumbnails(*, queryset: QuerySet[Image] | None = None, limit: int | None = None) -> tuple[int, int]:
    """Render thumbnails for images that have none; returns (made, failed)."""
    queryset = (Image.objects.all() if queryset is None else queryset).filter(thumbnail_key="").only("pk", "key", "content_hash")
    if limit is not None:
        queryset = queryset[:limit]
    made = failed = 0
    for image in queryset.iterator(chunk_size=200):
        try:
            ensure_thumbnail(image=image)
            made += 1
        except Exception:  # a missing or corrupt file must not stop the batch
            log.warning("no thumbnail for %s", image.key, exc_info=True)
            failed += 1
    return made, failed
