"""Private storage for retouch uploads: sources, masks, edge maps, references, frame archives.

Uploads live in their own storage (``STORAGES["retouch"]``): a folder outside GARDEN_MEDIA_ROOT
(which the app serves at /media/) or private objects on S3 (no public ACL, signed URLs only, no
CDN domain). Nothing here hands out a URL: workers read the files by key, and the Celery message
carries only the job id. Files of finished jobs are deleted after GARDEN_RETOUCH_KEEP_UPLOADS_HOURS
(a retry needs them until then) by ``purge_finished_uploads``, which generation's periodic sweep
calls (registered as the retouch kinds' ``sweep`` in ``retouch.apps``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone

from config.errors import DomainError
from garden.services import StorageError
from generation.models import GenerationJob
from retouch.models import RetouchJob

log = logging.getLogger(__name__)

ALIAS = "retouch"


class UploadMissing(DomainError):
    """A retouch job's upload is gone (deleted after GARDEN_RETOUCH_KEEP_UPLOADS_HOURS)."""

    status_code = 410


def upload_storage() -> Storage:
    return storages[ALIAS]


def upload_key(*, job_id, name: str) -> str:
    return f"jobs/{job_id}/{name}"


def write_upload(*, key: str, content: bytes) -> None:
    storage = upload_storage()
    try:
        if storage.exists(key):
            storage.delete(key)
        saved_as = storage.save(key, ContentFile(content))
    except Exception as exc:
        raise StorageError(f"could not store the upload {key}: {exc}") from exc
    if saved_as != key:
        delete_uploads([saved_as])
        raise StorageError(f"the upload storage renamed {key} to {saved_as}")


def read_upload(key: str) -> bytes:
    try:
        with upload_storage().open(key, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UploadMissing(
            f"The job's upload {key} is gone (kept GARDEN_RETOUCH_KEEP_UPLOADS_HOURS after the job ends): submit it again."
        ) from None
    except Exception as exc:  # S3 errors, permissions: a later attempt may succeed
        raise StorageError(f"could not read the upload {key}: {exc}") from exc


def delete_uploads(keys) -> None:
    storage = upload_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # cleanup never hides the original error
            log.warning("could not delete the retouch upload %s", key, exc_info=True)


def check_private_storage() -> None:
    """Start-up check: a local upload folder may not lie inside the media folder the app serves."""
    storage = upload_storage()
    if not (settings.GARDEN_SERVE_MEDIA and isinstance(storage, FileSystemStorage)):
        return
    uploads, media = Path(storage.location).resolve(), Path(settings.MEDIA_ROOT).resolve()
    if uploads == media or media in uploads.parents:
        raise ImproperlyConfigured(
            f"GARDEN_RETOUCH_UPLOAD_ROOT ({uploads}) lies inside GARDEN_MEDIA_ROOT ({media}), which is served at "
            f"{settings.MEDIA_URL}: retouch uploads must stay private. Choose a folder outside it."
        )


def purge_finished_uploads(*, limit: int = 50) -> int:
    """Delete the uploads of retouch jobs finished over GARDEN_RETOUCH_KEEP_UPLOADS_HOURS ago."""
    deadline = timezone.now() - timedelta(hours=settings.GARDEN_RETOUCH_KEEP_UPLOADS_HOURS)
    finished = RetouchJob.objects.filter(uploads_purged=False, job__in=GenerationJob.objects.finished().filter(finished_at__lt=deadline))
    purged = 0
    for retouch in finished.only("job_id", "uploads")[:limit]:
        delete_uploads(retouch.uploads.values())
        # The keys stay: a retry then fails saying the upload is gone (UploadMissing), not a KeyError.
        RetouchJob.objects.filter(pk=retouch.pk).update(uploads_purged=True)
        purged += 1
    return purged
