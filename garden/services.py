"""State changes for garden images and visitors. Transactions live here."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import partial

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from config import clock
from config.errors import Conflict, Unavailable
from garden import freshness, keys, looks
from garden.models import Image, ImageLook, ImageParent, Visitor

log = logging.getLogger(__name__)


class StorageError(Unavailable, RuntimeError):
    """The file store refused or lost a write; the database was left unchanged."""


class ImageStateError(Conflict, ValueError):
    """The image is not in a state that allows this change."""


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write_file(*, key: str, content: bytes, storage: Storage | None = None) -> None:
    """Write ``content`` at exactly ``key`` of ``storage`` (the image storage by default), replacing
    what was there in one step, or raise StorageError.

    Never delete-then-save: a failure half way leaves the old object (readers see the old bytes or
    the new ones, never none). Locally a complete temporary file is renamed over the key; on S3 a
    PUT replaces an object whole (the storage's ``_save``: ``save`` would pick another name for an
    existing key, since file_overwrite is off so that new pictures never overwrite each other).
    """
    storage = storage or default_storage
    try:
        try:
            path = storage.path(key)
        except NotImplementedError:  # a remote storage (S3)
            saved_as = storage._save(key, ContentFile(content))  # type: ignore[attr-defined]  # S3Storage's PUT
        else:
            _replace_local(storage, key, path, content)
            saved_as = key
    except Exception as exc:  # any backend failure: S3 errors, full disks, permissions
        raise StorageError(f"could not write {key}: {exc}") from exc
    if saved_as != key:
        delete_file_quietly(saved_as, storage=storage)
        raise StorageError(f"storage renamed {key} to {saved_as}")


def _replace_local(storage: Storage, key: str, path: str, content: bytes) -> None:
    """Write a complete temporary file beside ``key`` through the storage, then rename it over the key."""
    folder, _, name = key.rpartition("/")
    temporary = storage.save(f"{folder}/.replacing-{secrets.token_hex(4)}-{name}.part".lstrip("/"), ContentFile(content))
    try:
        os.replace(storage.path(temporary), path)  # atomic on one file system
    except BaseException:
        delete_file_quietly(temporary, storage=storage)
        raise


def delete_file_quietly(key: str, *, storage: Storage | None = None) -> None:
    try:
        (storage or default_storage).delete(key)
    except Exception:  # cleanup must never hide the original error
        log.warning("could not delete %s from storage", key, exc_info=True)


def read_file(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def serving_changed() -> None:
    """Give the serving set a new version now (a write outside the ORM: a restore, a bench's raw
    load). The ORM's writes of images move it themselves (garden.freshness)."""
    freshness.serving_changed()


def create_image(*, key: str, content: bytes, status: str | None = None, parents: Iterable[int] = (), **metadata) -> Image:
    """Store a file and its row together: if the row cannot be written the file is removed.
    ``parents``: the pictures it was bred from (ImageParent rows; those no longer there are left out)."""
    parsed = keys.parse_key(key)
    status = status or (Image.Status.SERVING if parsed.is_serving else Image.Status.POOL)
    look = look_or_none(key, content)  # measured before the transaction: it holds no lock meanwhile
    write_file(key=key, content=content)
    try:
        with transaction.atomic():
            image = Image.objects.create(
                key=key,
                status=status,
                emotion=parsed.emotion,
                favorite=parsed.favorite,
                orientation=parsed.orientation,
                byte_size=len(content),
                content_hash=sha256(content),
                **metadata,
            )
            if look is not None:
                ImageLook.objects.create(image=image, **look_fields(look))
            if parents := sorted(set(parents)):
                alive = Image.objects.filter(pk__in=parents).values_list("pk", flat=True)
                ImageParent.objects.bulk_create([ImageParent(child=image, parent_id=parent) for parent in alive])
            return image
    except Exception:
        if not _row_holds(key):  # a row of another writer (a concurrent attempt) keeps its file
            delete_file_quietly(key)
        raise


def _row_holds(key: str) -> bool:
    try:
        return Image.objects.filter(key=key).exists()
    except Exception:  # the database is what failed: no row can hold it
        return False


def as_jpeg(content: bytes, *, quality: int = 95) -> bytes:
    """A PNG (a retouched picture) re-encoded as the JPEG that serving keys promise, EXIF kept."""
    with PILImage.open(io.BytesIO(content)) as picture:
        exif = picture.getexif()
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def _move(*, image: Image, prefix: str, status: str, promoted_at: datetime | None) -> Image:
    """Copy the file to its new key, switch the row in one transaction, then drop the old file.

    A failed copy leaves the row untouched and removes any partial new file; a failed row update
    removes the new copy. The old file is deleted only after the transaction commits. A pool PNG
    (a retouched picture) is served as JPEG: its new file, size and hash change with the format.
    """
    old_key = image.key
    new_key = keys.with_prefix(old_key, prefix)
    changed: dict[str, object] = {}
    if new_key != old_key:
        content = read_file(old_key)
        if keys.parse_key(new_key).extension != keys.parse_key(old_key).extension:
            content = as_jpeg(content)
            changed = {"byte_size": len(content), "content_hash": sha256(content)}
        write_file(key=new_key, content=content)
    try:
        with transaction.atomic():
            locked = Image.objects.select_for_update().get(pk=image.pk)
            if locked.key != old_key:
                raise ImageStateError(f"{old_key} was moved by someone else")
            if status == Image.Status.SERVING and locked.quarantined:  # flagged since the caller read it
                raise ImageStateError(quarantine_message(locked))
            locked.key, locked.status, locked.promoted_at = new_key, status, promoted_at
            locked.rejected_at = None
            for name, value in changed.items():
                setattr(locked, name, value)
            locked.save(update_fields=["key", "status", "promoted_at", "rejected_at", *changed])
            if new_key != old_key:
                transaction.on_commit(lambda: delete_file_quietly(old_key))
    except Exception:
        if new_key != old_key:
            delete_file_quietly(new_key)
        raise
    return locked


def quarantine_message(image: Image) -> str:
    return (
        f"{image.key} is in quarantine (the image check flagged it: {image.safety_reason or 'no reason given'}): "
        "a curator must release it first (Images › Release from quarantine…) before it can be promoted."
    )


def promote_image(*, image: Image) -> Image:
    """Pool → serving: the key moves ``imgPool/…`` → ``emotions/…`` in storage and database.

    A quarantined picture (flagged by the image check, not released) is refused with ImageStateError.
    """
    if image.status == Image.Status.SERVING:
        return image
    if image.quarantined:
        raise ImageStateError(quarantine_message(image))
    return _move(image=image, prefix=keys.SERVING_PREFIX, status=Image.Status.SERVING, promoted_at=clock.now())


def demote_image(*, image: Image) -> Image:
    """Serving → pool (the reverse of promotion)."""
    if image.status != Image.Status.SERVING:
        return image
    return _move(image=image, prefix=keys.POOL_PREFIX, status=Image.Status.POOL, promoted_at=None)


def reject_image(*, image: Image) -> Image:
    """A soft state with undo: the file stays until a confirmed purge."""
    if image.status == Image.Status.SERVING:
        image = demote_image(image=image)
    Image.objects.filter(pk=image.pk).update(status=Image.Status.REJECTED, kept=False, rejected_at=timezone.now())
    image.refresh_from_db()
    return image


def rewrite_image(*, image: Image, content: bytes, **metadata) -> None:
    """Replace an image's file and metadata in place, keeping its id and key (a re-import, a mark).

    The key stays: it is the picture's identity for kiosks (URLs, likes) and exports. The file is
    replaced in one step (write_file) inside the row's transaction: a failed write leaves the old
    file and rolls the row back (the old picture is served); a commit that fails after the write
    puts the old bytes back.
    """
    previous = read_file(image.key)
    look = look_or_none(image.key, content)
    written = False
    try:
        with transaction.atomic():
            Image.objects.select_for_update().filter(pk=image.pk).exists()  # one rewrite of a picture at a time
            Image.objects.filter(pk=image.pk).update(byte_size=len(content), content_hash=sha256(content), **metadata)
            if look is None:  # the old look described the old bytes
                ImageLook.objects.filter(image_id=image.pk).delete()
            else:
                _store_look(image_id=image.pk, values=look)
            write_file(key=image.key, content=content)
            written = True
    except Exception:
        if written:  # the row still describes the old file: it goes back
            try:
                write_file(key=image.key, content=previous)
            except StorageError:
                log.error("%s holds the new bytes but its row the old ones: re-run the rewrite", image.key, exc_info=True)
        raise


# --- What a picture looks like (garden.looks), stored with the image -----------------------------


def measure_look(*, image: Image, content: bytes) -> ImageLook:
    """Measure the picture's look from its bytes and store it with the image, replacing an older
    one. Raises garden.looks.Unreadable for bytes that are no picture (nothing is stored then)."""
    return _store_look(image_id=image.pk, values=looks.measure(content))


def look_or_none(key: str, content: bytes) -> np.ndarray | None:
    """The look, or None for bytes no decoder reads: a picture is stored with or without its look."""
    try:
        return looks.measure(content)
    except looks.Unreadable as exc:
        log.warning("no look for %s: %s", key, exc)  # the key and the error's kind, never the bytes
        return None


def look_fields(values: np.ndarray) -> dict[str, object]:
    return {**dict(zip(looks.LOOK_FIELDS, values.tolist(), strict=True)), "version": looks.VERSION, "measured_at": timezone.now()}


def _store_look(*, image_id: int, values: np.ndarray) -> ImageLook:
    look, _ = ImageLook.objects.update_or_create(image_id=image_id, defaults=look_fields(values))
    return look


def purge_rejected(*, images: Iterable[Image]) -> int:
    """Delete the files and rows of rejected images (never of pool or serving ones)."""
    purged = 0
    for image in images:
        if image.status != Image.Status.REJECTED:
            continue
        with transaction.atomic():
            deleted, _ = Image.objects.rejected().with_id(image.pk).delete()
            if deleted:
                for key in filter(None, (image.key, image.thumbnail_key)):
                    transaction.on_commit(partial(delete_file_quietly, key))
                purged += 1
    return purged


def touch_visitor(*, visitor_id: str, **labels) -> Visitor:
    """Create the visitor or refresh its labels.

    update_or_create locks the row and retries its read when a concurrent request created the
    same id first, so two kiosks racing on a new id both succeed.
    """
    now = timezone.now()
    visitor, _ = Visitor.objects.update_or_create(
        id=visitor_id, defaults={**labels, "last_seen": now}, create_defaults={**labels, "first_seen": now, "last_seen": now}
    )
    return visitor
