"""The S3 storage of garden images: only serving and display keys need to be public.

Kiosks and edge screens load ``emotions/…`` (serving) and ``display/…`` (zone slots) by plain URL,
so those prefixes are public (a bucket policy, a CDN, or ``GARDEN_S3_DEFAULT_ACL``). Everything else
in the bucket (pool images under ``imgPool/``, thumbnails under ``thumbs/``) is for staff only: with
``GARDEN_S3_PRIVATE_POOL`` (on by default) their URLs are presigned by S3 and expire after
``GARDEN_S3_STAFF_URL_SECONDS``, so the admin, the review page and the job pages show them from a
private bucket. Serving URLs stay plain whatever the setting (kiosks keep them in a slideshow).

The policy that goes with it is in docs/operations.md ("Storage: bucket and policy").
"""

from __future__ import annotations

from django.core.files.storage import Storage, default_storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from garden import keys

PUBLIC_PREFIXES = (f"{keys.SERVING_PREFIX}/", f"{keys.DISPLAY_PREFIX}/")


def is_public_key(key: str) -> bool:
    """Serving images and display slots: what kiosks and screens fetch anonymously."""
    return clean_name(key).lstrip("/").startswith(PUBLIC_PREFIXES)


class GardenS3Storage(S3Storage):
    """S3Storage whose URLs for non-public keys are presigned when the pool is private."""

    def get_default_settings(self) -> dict:
        return {**super().get_default_settings(), "private_pool": True, "staff_url_seconds": 3600}

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.private_pool and not is_public_key(name):
            return self.presigned_url(name, expire=expire)
        return super().url(name, parameters=parameters, expire=expire, http_method=http_method)

    def presigned_url(self, name: str, *, expire: int | None = None) -> str:
        """A GET URL signed by S3 itself (never the CDN domain: a CDN would not pass it through)."""
        return self.bucket.meta.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket.name, "Key": self._normalize_name(clean_name(name))},
            ExpiresIn=expire or self.staff_url_seconds,
        )


def private_pool(storage: Storage | None = None) -> bool:
    """Whether non-public keys get presigned URLs (GARDEN_S3_PRIVATE_POOL on the S3 storage)."""
    return bool(getattr(storage or default_storage, "private_pool", False))


def bucket_name(storage: Storage | None = None) -> str | None:
    """The S3 bucket behind a storage, or None for local files."""
    bucket = getattr(storage or default_storage, "bucket_name", None)
    return bucket or None
