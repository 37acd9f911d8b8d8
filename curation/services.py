"""Curation state changes: keep/reject/undo in bulk, promotion, purge, the Curators group.

Thumbnails are an image-level concern shared with generation: see ``garden.thumbnails``.

The admin, the review page's JSON endpoints and management commands call these functions and
nothing else. Every change is written to the admin log (``LogEntry``) with its user here, so an
action is recorded whichever door it came through.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet

from config import groups
from config.errors import DomainError
from garden import marks
from garden import services as garden_services
from garden.models import Image
from garden.queries import ImageQuerySet
from generation import services as generation_services
from generation.models import GenerationJob
from generation.requests import JobRequest
from safety import services as safety_services

log = logging.getLogger(__name__)

CURATORS_GROUP = "Curators"
# Exactly what a curator needs: see and act on images (actions need change_image), promote,
# purge, and run generation jobs. No add/delete of image rows (images come from generation or
# import; deletion is the confirmed purge only) and no visitor data (personal, not needed to curate).
CURATOR_PERMISSIONS = (
    "garden.view_image",
    "garden.change_image",
    "curation.promote_image",
    "curation.purge_image",
    "generation.view_generationjob",
    "generation.add_generationjob",
    "generation.change_generationjob",
    # The model library (docs/models.md): see it, rescan it, choose the default and its defaults.
    "library.view_libraryentry",
    "library.change_libraryentry",
    # The gardener (docs/gardener.md): read and undo its actions, set its policy.
    "gardener.view_gardeneraction",
    "gardener.view_gardenerpolicy",
    "gardener.change_gardenerpolicy",
    "gardener.view_emotionpolicy",
    "gardener.add_emotionpolicy",
    "gardener.change_emotionpolicy",
    "gardener.view_wordbank",
    "gardener.add_wordbank",
    "gardener.change_wordbank",
    "gardener.delete_wordbank",
    # Safety (docs/safety.md): the screening terms, and the log of releases from quarantine.
    "safety.view_term",
    "safety.add_term",
    "safety.change_term",
    "safety.delete_term",
    "safety.view_release",
)


class Decision(StrEnum):
    """What a reviewer says about an image. PENDING is the undo target: back to undecided."""

    KEEP = "keep"
    REJECT = "reject"
    PENDING = "pending"


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def _ids(images: Iterable[Image] | ImageQuerySet) -> list[int]:
    if isinstance(images, ImageQuerySet):
        return list(images.values_list("pk", flat=True))
    return [image.pk for image in images]


def _log(*, user, ids: list[int], flag: int, message: str) -> None:
    """One LogEntry per image, in two queries whatever the count (log_actions bulk-creates)."""
    if not ids or user is None:
        return
    LogEntry.objects.log_actions(user_id=user.pk, queryset=Image.objects.with_ids(ids), action_flag=flag, change_message=message)


def decide(*, images: Iterable[Image] | ImageQuerySet, decision: Decision | str, user) -> BulkResult:
    """Keep, reject or reset (undo) many images at once.

    Pool and rejected images change by one UPDATE per state (hundreds of rows per click stay
    cheap). A serving image that is rejected is first demoted through garden.services so its
    file moves back to imgPool/; nothing is deleted. Keeping or resetting a serving image only
    sets its ``kept`` flag: undoing a promotion is an explicit demote.
    """
    decision = Decision(decision)
    ids = _ids(images)
    result = BulkResult()
    if not ids:
        return result
    with transaction.atomic():
        rows = Image.objects.with_ids(ids)
        if decision == Decision.KEEP:
            marks.mark_kept(rows)
            changed = ids
        elif decision == Decision.PENDING:
            marks.mark_undecided(rows)
            changed = ids
        else:
            serving = list(rows.serving())
            changed = marks.reject_pool(rows)
    # Serving images move files: outside the bulk transaction, one by one, each atomic on its own.
    if decision == Decision.REJECT:
        for image in serving:
            try:
                garden_services.reject_image(image=image)
                changed.append(image.pk)
            except Exception as exc:  # a storage failure must not hide the others' success
                log.warning("could not reject %s", image.key, exc_info=True)
                result.failed[image.pk] = str(exc)
    result.changed = changed
    message = {Decision.KEEP: "Kept (curation)", Decision.REJECT: "Rejected (curation)", Decision.PENDING: "Undo: back to undecided"}
    _log(user=user, ids=changed, flag=CHANGE, message=message[decision])
    return result


def _move_each(*, images: Iterable[Image] | ImageQuerySet, move, user, message: str) -> BulkResult:
    result = BulkResult()
    for image in images:
        try:
            move(image=image)
            result.changed.append(image.pk)
        except Exception as exc:  # report per image; the rest still move
            log.warning("%s failed for %s", message, image.key, exc_info=True)
            result.failed[image.pk] = str(exc)
    _log(user=user, ids=result.changed, flag=CHANGE, message=message)
    return result


def promote(*, images: Iterable[Image] | ImageQuerySet, user) -> BulkResult:
    """Pool → serving (key imgPool/… → emotions/…): kiosks see them at once. Rejected ones are skipped."""
    images = images.pool() if isinstance(images, ImageQuerySet) else [image for image in images if image.status == Image.Status.POOL]
    return _move_each(images=images, move=garden_services.promote_image, user=user, message="Promoted to serving")


def promote_kept(*, user, queryset: ImageQuerySet | None = None) -> BulkResult:
    """Promote every kept pool image (optionally within a filtered queryset); quarantined ones wait."""
    queryset = Image.objects.all_pictures() if queryset is None else queryset
    return promote(images=kept_to_promote(queryset), user=user)


def kept_to_promote(queryset: ImageQuerySet) -> ImageQuerySet:
    return queryset.kept().not_quarantined().order_by("pk")


def release(*, images: Iterable[Image] | ImageQuerySet, user, reason: str) -> BulkResult:
    """Release quarantined pictures (safety.services.release_image: a Release row with who and
    why), each on its own; the admin log gets the same reason."""
    result = BulkResult()
    for image in images:
        try:
            safety_services.release_image(image=image, user=user, reason=reason)
            result.changed.append(image.pk)
        except DomainError as exc:  # released by someone else meanwhile, or no reason: reported per image
            result.failed[image.pk] = exc.message
    _log(user=user, ids=result.changed, flag=CHANGE, message=f"Released from quarantine: {reason}"[:200])
    return result


def demote(*, images: Iterable[Image] | ImageQuerySet, user) -> BulkResult:
    """Serving → pool (key emotions/… → imgPool/…); the image stays kept for a later promotion."""
    images = images.serving() if isinstance(images, ImageQuerySet) else [image for image in images if image.status == Image.Status.SERVING]
    return _move_each(images=images, move=garden_services.demote_image, user=user, message="Demoted to the pool")


def purge(*, images: Iterable[Image] | ImageQuerySet, user) -> int:
    """Delete rows and files of the rejected images among ``images``; others are left alone."""
    rejected = list(Image.objects.with_ids(_ids(images)).rejected())
    # Logged before the rows go (a LogEntry needs the object's repr and id); same user, DELETION flag.
    _log(user=user, ids=[image.pk for image in rejected], flag=DELETION, message="Purged (file deleted)")
    return garden_services.purge_rejected(images=rejected)


def rejected_images() -> QuerySet[Image]:
    return Image.objects.rejected()


# --- Permissions --------------------------------------------------------------------------------


def ensure_curators_group(*, user=None) -> tuple[Group, list[str]]:
    """Create or reset the Curators group to exactly CURATOR_PERMISSIONS; returns (group, missing).

    ``missing`` names rights whose Permission rows do not exist yet (their app not migrated).
    """
    group, created, missing = groups.reset_group(CURATORS_GROUP, CURATOR_PERMISSIONS)
    if user is not None:
        found = sorted(set(CURATOR_PERMISSIONS) - set(missing))
        LogEntry.objects.log_actions(
            user_id=user.pk,
            queryset=Group.objects.filter(pk=group.pk),
            action_flag=ADDITION if created else CHANGE,
            change_message="Curators group set to: " + ", ".join(found),
            single_object=True,
        )
    return group, missing


def make_curator(*, user) -> None:
    """Staff (so the admin lets them log in) and a member of Curators; no superuser rights."""
    group, _missing = ensure_curators_group()
    groups.join_as_staff(user=user, group=group)


# --- Bulk generation (jobs are generation's; curation adds the admin log and the curator's name) ---


def start_bulk_generation(*, user, request: JobRequest) -> GenerationJob:
    """A bulk job (one landscape + one portrait per index) into imgPool/, recorded in the admin log."""
    return _started(user=user, valid=replace(request, kind=GenerationJob.Kind.BULK).validate())


def start_bulk_batches(*, user, requests: list[JobRequest]) -> list[GenerationJob]:
    """One bulk job per request (the admin form: one per emotion), all or none.

    Every request is validated once, before any job is stored, and the jobs are created from what
    was validated in one transaction, so a refused parameter never leaves half a batch behind.
    """
    valid = [replace(request, kind=GenerationJob.Kind.BULK).validate() for request in requests]  # JobParameterError first
    with transaction.atomic():
        return [_started(user=user, valid=one) for one in valid]


def _started(*, user, valid) -> GenerationJob:
    job = generation_services.create_valid_job(valid=valid, created_by=user)
    _log_job(user=user, job=job, flag=ADDITION, message=f"Started bulk generation: {job.count} x 2 images, {job.width}x{job.height}")
    return job


def cancel_jobs(*, jobs, user) -> int:
    cancelled = 0
    for job in jobs:
        if not job.is_finished:
            generation_services.cancel_job(job=job)
            _log_job(user=user, job=job, flag=CHANGE, message="Cancelled")
            cancelled += 1
    return cancelled


def retry_jobs(*, jobs, user) -> int:
    """Retry each failed or cancelled job; others are skipped (retry_job says which may be)."""
    retried = 0
    for job in jobs:
        try:
            generation_services.retry_job(job=job)
        except generation_services.JobStateError:
            continue
        _log_job(user=user, job=job, flag=CHANGE, message="Retried")
        retried += 1
    return retried


def _log_job(*, user, job, flag: int, message: str) -> None:
    if user is None:
        return
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=type(job).objects.filter(pk=job.pk), action_flag=flag, change_message=message, single_object=True
    )
