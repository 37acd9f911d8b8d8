"""Mark pictures stored before provenance (docs/provenance.md#pictures-stored-before-it).

    manage.py mark_provenance [--dry-run] [--limit N]

Each picture whose file carries no XMP digital source type gets the XMP packet the encoders write
(source type and model from the row's parameters), inserted without touching the compressed
pixels (``provenance.xmp.insert_packet``: a JPEG APP1 segment, a PNG iTXt chunk, a WebP XMP chunk),
then a C2PA manifest when signing is configured. No watermark: it lives in the pixels, and
re-encoding every stored picture (a lossy JPEG generation) to add it is not worth it.

The new file is first written at a temporary key beside the original (a copy survives a failed
replace), then at the picture's key together with the row's byte_size and content_hash
(``garden.services.rewrite_image``), then the temporary copy goes. The thumbnail is rendered
again from the new file (it copies the XMP) at its new key, and the old one is deleted.
"""

from __future__ import annotations

import io
import logging

from django.core.management.base import BaseCommand
from PIL import Image as PILImage
from tqdm import tqdm

from garden import services, thumbnails
from garden.models import Image
from generation import imagefile
from provenance import c2pa, xmp

log = logging.getLogger(__name__)

TEMPORARY_SUFFIX = ".provenance-tmp"


def marked(content: bytes, image: Image) -> bytes | None:
    """The file with its provenance added, or None when it already has it or cannot take it."""
    if xmp.read_fields(xmp.raw_packet(content)).get("digital_source_type"):
        return None
    parameters = imagefile.read_parameters(content) or image.parameters or {"generator": image.generator, "model_id": image.model_id}
    source_type, model = imagefile.source_type_for(parameters), imagefile.model_for(parameters)
    new = xmp.insert_packet(content, xmp.build_packet(source_type=source_type, model=model))
    if new is None:
        return None
    config = c2pa.configured()
    if config is not None:
        with PILImage.open(io.BytesIO(content)) as picture:
            image_format = picture.format or "JPEG"
        new = c2pa.sign(new, image_format=image_format, source_type=source_type, model=model, software=xmp.SOFTWARE, config=config)
    return new


def replace(image: Image, content: bytes) -> None:
    temporary = image.key + TEMPORARY_SUFFIX
    services.write_file(key=temporary, content=content)
    services.rewrite_image(image=image, content=content)  # the file, byte_size and content_hash
    services.delete_file_quietly(temporary)
    image.refresh_from_db(fields=["byte_size", "content_hash"])
    old_thumbnail = thumbnails.forget_thumbnail(image)
    new_thumbnail = thumbnails.ensure_thumbnail(image=image, content=content)
    if old_thumbnail and old_thumbnail != new_thumbnail:
        services.delete_file_quietly(old_thumbnail)


class Command(BaseCommand):
    help = "Add the XMP digital source type (and C2PA when configured) to pictures stored without it."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be marked; write nothing.")
        parser.add_argument("--limit", type=int, default=None, help="Mark at most N pictures.")

    def handle(self, *args, dry_run: bool = False, limit: int | None = None, verbosity: int = 1, **options):
        queryset = Image.objects.all_pictures().order_by("pk")
        counts = {"marked": 0, "already": 0, "unsupported": 0, "failed": 0}
        progress = tqdm(total=queryset.count(), desc="Marking provenance", unit="img", disable=verbosity == 0)
        for image in queryset.iterator(chunk_size=200):
            if limit is not None and counts["marked"] >= limit:
                break
            progress.update(1)
            try:
                content = services.read_file(image.key)
                if xmp.read_fields(xmp.raw_packet(content)).get("digital_source_type"):
                    counts["already"] += 1
                    continue
                new = marked(content, image)
                if new is None:
                    counts["unsupported"] += 1
                    continue
                if not dry_run:
                    replace(image, new)
                counts["marked"] += 1
            except Exception:  # a missing or unreadable file must not stop the batch
                log.warning("could not mark %s", image.key, exc_info=True)
                counts["failed"] += 1
        progress.close()
        verb = "would mark" if dry_run else "marked"
        self.stdout.write(
            f"{verb} {counts['marked']}, already marked {counts['already']}, "
            f"not markable without re-encoding {counts['unsupported']}, failed {counts['failed']}"
        )
