"""Measuring the looks of pictures stored before they were measured (``manage.py measure_pictures``).

New pictures get their look when they are stored (garden.services.create_image, rewrite_image);
this measures the others, and every look again after garden.looks.VERSION changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Q

from garden import looks, services
from garden.models import Image, ImageLook


@dataclass
class BackfillCounts:
    """Where a backfill_looks run stands (``progress`` gets it after every batch)."""

    total: int = 0  # pictures to measure when the run started
    seen: int = 0
    measured: int = 0
    missing: int = 0  # no file in storage under the image's key
    unreadable: int = 0  # a file no decoder reads


def backfill_looks(*, batch: int = 200, all_: bool = False, progress: Callable[[BackfillCounts], None] | None = None) -> int:
    """Measure the pictures without a look or with a look of an older garden.looks.VERSION (every
    picture with ``all_``), in id order, ``batch`` at a time: each file read once, one write per batch.

    Files missing from storage and bytes no decoder reads are counted and skipped: they stay without a
    look, and a re-run tries them again. Returns how many looks were stored; ``progress`` gets the
    counts after each batch (once at least). Safe beside everything else: it writes only looks.
    """
    images = Image.objects.all()
    if not all_:
        images = images.filter(Q(look__isnull=True) | Q(look__version__lt=looks.VERSION))
    counts = BackfillCounts(total=images.count())
    after = 0
    while rows := list(images.filter(pk__gt=after).order_by("pk").values_list("pk", "key")[:batch]):
        after = rows[-1][0]
        measured: dict[int, np.ndarray] = {}
        for pk, key in rows:
            content = _read_current(pk, key)
            if content is None:
                counts.missing += 1
            elif (values := services.look_or_none(key, content)) is None:
                counts.unreadable += 1
            else:
                measured[pk] = values
        counts.seen += len(rows)
        counts.measured += _store_looks(measured)
        if progress is not None:
            progress(counts)
    if progress is not None and not counts.seen:
        progress(counts)
    return counts.measured


def _read_current(pk: int, key: str) -> bytes | None:
    """The image's file, or None when it is missing. A promotion or demotion since the batch was
    listed moved it to a new key: the row's key now is read once more."""
    for _attempt in range(2):
        try:
            return services.read_file(key)
        except FileNotFoundError:
            moved = Image.objects.filter(pk=pk).values_list("key", flat=True).first()
            if moved is None or moved == key:
                return None
            key = moved
    return None


def _store_looks(measured: dict[int, np.ndarray]) -> int:
    """Insert or replace the looks of one batch in one statement; images purged meanwhile are left out."""
    for _attempt in range(2):
        alive = set(Image.objects.filter(pk__in=measured).values_list("pk", flat=True))
        rows = [ImageLook(image_id=pk, **services.look_fields(values)) for pk, values in measured.items() if pk in alive]
        try:
            with transaction.atomic():
                ImageLook.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["image"], update_fields=[*looks.LOOK_FIELDS, "version", "measured_at"]
                )
            return len(rows)
        except IntegrityError:  # an image of the batch was purged between the check and the insert
            continue
    raise IntegrityError("images of the batch kept disappearing while their looks were stored")
