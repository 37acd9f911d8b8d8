"""Marks other apps set on garden pictures, written only here: a reviewer's keep, reject and undo
in bulk (curation), the image check's verdict and a curator's release (safety), and file-less
rows made and removed in bulk (recommend's simulated traffic).

The fields stay on ``Image``; their owners' services decide, these functions write. A picture
enters or leaves the serving set through garden.services' moves (promote_image, demote_image,
reject_image); whatever writes it, the serving version moves with it (garden.freshness).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from garden.models import Image
from garden.queries import ImageQuerySet

# --- A reviewer's marks (curation), one UPDATE per state however many pictures ---------------


def mark_kept(images: ImageQuerySet) -> None:
    """Keep: rejected pictures come back to the pool, and every one is marked kept (serving ones too)."""
    images.rejected().update(status=Image.Status.POOL, rejected_at=None, kept=True)
    images.not_rejected().update(kept=True)


def mark_undecided(images: ImageQuerySet) -> None:
    """Undo a decision: rejected pictures come back to the pool, pool ones lose their keep.
    Serving ones keep theirs (undoing a promotion is an explicit demote)."""
    images.rejected().update(status=Image.Status.POOL, rejected_at=None, kept=False)
    images.pool().update(kept=False)


def reject_pool(images: ImageQuerySet) -> list[int]:
    """Pool → rejected (soft: the files stay), kept cleared; returns their ids. Serving pictures
    are left to garden.services.reject_image, which moves their files back to the pool first."""
    ids = list(images.pool().values_list("pk", flat=True))
    Image.objects.with_ids(ids).update(status=Image.Status.REJECTED, kept=False, rejected_at=timezone.now())
    return ids


# --- The image check's verdict and a curator's release (safety) -------------------------------

SAFETY_VERDICT_FIELDS = ("safety_verdict", "safety_score", "safety_checker", "safety_reason")


def record_safety_verdict(
    image: Image, *, safety_verdict: str, safety_score: float | None, safety_checker: str, safety_reason: str
) -> None:
    """Store what the image check said about a stored picture (a flagged serving one must be demoted first)."""
    image.safety_verdict, image.safety_score = safety_verdict, safety_score
    image.safety_checker, image.safety_reason = safety_checker, safety_reason
    image.save(update_fields=list(SAFETY_VERDICT_FIELDS))


def mark_released(image: Image) -> None:
    """Let a picture out of quarantine (the caller holds its row lock and logs who and why)."""
    image.safety_released = True
    image.save(update_fields=["safety_released"])


# --- File-less rows in bulk (synthetic pictures: no file, no look, no lineage) -----------------


def add_fileless_images(images: Iterable[Image], *, batch_size: int = 1000) -> list[Image]:
    """Insert rows that have no file behind them, one INSERT per batch, as given (serving ones too:
    the serving version moves with them)."""
    return Image.objects.bulk_create(images, batch_size=batch_size)


def delete_fileless_images(*, generator: str) -> int:
    """Delete the rows a file-less generator made (``simulation``); returns how many rows went."""
    deleted, _ = Image.objects.made_by(generator).delete()
    return deleted
