"""Quarantine's writes: a curator releases a flagged picture (who, why, and what the check said).

Deleting a quarantined picture needs nothing here: curation's reject and purge (garden.services)
remove it like any other pool picture.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from garden import marks
from garden.models import Image
from garden.services import ImageStateError
from safety.models import Release

REASON_LIMIT = 1000  # characters; a sentence or two is what a reviewer needs later


class ReleaseReasonMissing(DomainError, ValueError):
    """A release without a reason: the log must say why a flagged picture was let out."""


def release_image(*, image: Image, user, reason: str) -> Release:
    """Let a quarantined picture out: a Release row with the verdict as it stands, and
    ``safety_released`` set, in one transaction. The picture stays in the pool: promotion is a
    separate, ordinary step (garden.services.promote_image)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReleaseReasonMissing(fields={"reason": "Say why this picture may leave quarantine (the reason is logged with your name)."})
    if len(reason) > REASON_LIMIT:
        raise ReleaseReasonMissing(fields={"reason": f"Keep the reason under {REASON_LIMIT} characters."})
    with transaction.atomic():
        locked = Image.objects.with_id(image.pk).select_for_update().get()
        if not locked.quarantined:
            raise ImageStateError(f"{locked.key} is not in quarantine (verdict {locked.safety_verdict}): nothing to release.")
        release = Release.objects.create(
            image=locked,
            released_by=user if getattr(user, "is_authenticated", False) else None,
            reason=reason,
            verdict=locked.safety_verdict,
            score=locked.safety_score,
            checker=locked.safety_checker,
            released_at=timezone.now(),
        )
        marks.mark_released(locked)
    image.safety_released = True
    return release
