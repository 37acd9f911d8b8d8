"""Check the pictures already stored (``manage.py check_safety``): record each verdict, and move a
serving picture that is flagged back to the pool, so it is quarantined."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import transaction
from PIL import Image as PILImage

from garden import marks
from garden.choices import Verdict
from garden.models import Image
from garden.services import demote_image, read_file
from safety import images


def pictures_to_scan(*, everything: bool = False):
    """Pool and serving images: those never checked, or every one with ``everything``."""
    queryset = Image.objects.not_rejected().order_by("id")
    return queryset if everything else queryset.filter(safety_verdict=Image.Safety.UNCHECKED)


def check_stored(image: Image) -> images.Verdict:
    """The verdict on the image's file as stored (an unreadable file is ``unchecked``, with why)."""
    try:
        with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
            picture.load()
            return images.check_picture(picture)
    except Exception as exc:  # a missing or broken file: say so on the row, go on with the others
        reason = f"the file could not be read: {type(exc).__name__}: {exc}"[:200]
        return images.Verdict(Image.Safety.UNCHECKED, None, images.OPEN_NSFW, reason)


@transaction.atomic
def record_verdict(image: Image, verdict: images.Verdict) -> bool:
    """Store the verdict; a flagged serving picture is demoted first (the constraint forbids it
    serving). True when it was demoted."""
    demoted = False
    if verdict.flagged and not image.safety_released and image.status == Image.Status.SERVING:
        image = demote_image(image=image)
        demoted = True
    marks.record_safety_verdict(image, **verdict.image_fields())
    return demoted


# What scan() counts: pictures checked, each verdict (garden.choices.Verdict), pictures demoted.
COUNTED = ("checked", *Verdict.values, "demoted")


def scan(pictures: Iterable[Image], *, dry_run: bool = False, progress: Callable[[], None] | None = None) -> Counter:
    """Check each picture: counts of checked, passed, flagged, unchecked and demoted (would-be, dry)."""
    counts: Counter = Counter({name: 0 for name in COUNTED})
    for image in pictures:
        verdict = check_stored(image)
        counts["checked"] += 1
        counts[verdict.verdict] += 1
        if dry_run:
            counts["demoted"] += verdict.flagged and not image.safety_released and image.status == Image.Status.SERVING
        else:
            counts["demoted"] += record_verdict(image, verdict)
        if progress is not None:
            progress()
    return counts
