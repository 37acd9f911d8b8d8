"""The STORAGES entries config/settings.py builds from the settings: images, and retouch uploads.

Image files live under their storage key (`emotions/calm/img_…jpeg`). Locally that is a folder
served by the app; with GARDEN_S3_BUCKET set it is an S3 bucket through django-storages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def s3_connection(core: Mapping[str, Any]) -> dict[str, Any]:
    """How to reach S3 (django-storages' option names): the images', the retouch uploads' and the
    model library's store (library.store, GARDEN_MODELS_STORE) alike."""
    return {
        "endpoint_url": core["GARDEN_S3_ENDPOINT_URL"] or None,
        "region_name": core["GARDEN_S3_REGION"] or None,
        "access_key": core["GARDEN_S3_ACCESS_KEY_ID"] or None,
        "secret_key": core["GARDEN_S3_SECRET_ACCESS_KEY"] or None,
    }


def media_storage(core: Mapping[str, Any]) -> dict[str, Any]:
    """The default storage: pool images, thumbnails, serving and display copies."""
    if not core["GARDEN_S3_BUCKET"]:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(core["MEDIA_ROOT"]), "base_url": core["MEDIA_URL"]},
        }
    return {
        # S3Storage that presigns the URLs of pool images and thumbnails (garden/storage.py).
        "BACKEND": "garden.storage.GardenS3Storage",
        "OPTIONS": {
            "bucket_name": core["GARDEN_S3_BUCKET"],
            **s3_connection(core),
            "custom_domain": core["GARDEN_S3_CUSTOM_DOMAIN"] or None,
            "location": core["GARDEN_S3_PREFIX"],
            # Kiosks load images by plain URL; signed URLs would expire in their slideshow.
            "querystring_auth": core["GARDEN_S3_SIGNED_URLS"],
            "file_overwrite": False,
            # e.g. "public-read" for buckets that use ACLs; leave empty with a bucket policy or CDN.
            "default_acl": core["GARDEN_S3_DEFAULT_ACL"] or None,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            # Only emotions/ and display/ need to be public: staff URLs of other keys are presigned.
            "private_pool": core["GARDEN_S3_PRIVATE_POOL"],
            "staff_url_seconds": core["GARDEN_S3_STAFF_URL_SECONDS"],
        },
    }


def retouch_storage(core: Mapping[str, Any], apps: Mapping[str, Any]) -> dict[str, Any]:
    """Uploads (sources, masks, edge maps, references, frame archives) are private: a storage of their
    own, never under GARDEN_MEDIA_ROOT (served at /media/), private objects on S3 (checked at start)."""
    if not apps["GARDEN_RETOUCH_S3_BUCKET"]:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": apps["GARDEN_RETOUCH_UPLOAD_ROOT"], "base_url": None},
        }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **s3_connection(core),
            "bucket_name": apps["GARDEN_RETOUCH_S3_BUCKET"],
            "location": "/".join(filter(None, (core["GARDEN_S3_PREFIX"].strip("/"), "retouch-uploads"))),
            "default_acl": "private",
            "querystring_auth": True,
            "custom_domain": None,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
