"""System checks of the image storage: at start-up (cheap) and with ``check --deploy`` (a real write).

- every command that runs checks (``migrate``, ``runserver``, ``check``) and each Celery worker at
  start: the bucket exists and answers (one HEAD), or the local media folder can be written;
- ``manage.py check --deploy``: a small probe object is written and deleted, its presigned URL is
  read back where the pool is private, and one serving image's public URL is fetched anonymously
  where kiosks get plain URLs (GARDEN_S3_SIGNED_URLS off).

Failures are check Errors naming the bucket and the S3 error code (never a credential).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from botocore.config import Config
from django.core.checks import CheckMessage, Error, register
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError

from garden.storage import bucket_name, private_pool

log = logging.getLogger(__name__)
TAG = "storage"
PROBE_PREFIX = "healthcheck/"
TIMEOUT_SECONDS = 5.0
_HINT = "See docs/operations.md, 'Storage: bucket and policy'."


def describe(exc: BaseException) -> str:
    """An S3/boto error as its code and short message (``NoSuchBucket: The specified bucket…``)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
        code = {"404": "NoSuchBucket (404)", "403": "AccessDenied (403)", "400": "BadRequest (400)"}.get(code, code)
        message = str(error.get("Message") or "").strip()
        return f"{code}: {message}" if message else code
    return f"{type(exc).__name__}: {exc}"


def _quick_client():
    """The storage's S3 client with short timeouts and one retry: a dead endpoint fails a start in seconds."""
    storage = default_storage
    try:
        config = storage.client_config.merge(  # type: ignore[attr-defined]
            Config(connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS, retries={"mode": "standard", "max_attempts": 2})
        )
        return storage._create_session().client(  # type: ignore[attr-defined]
            "s3",
            region_name=storage.region_name,  # type: ignore[attr-defined]
            use_ssl=storage.use_ssl,  # type: ignore[attr-defined]
            endpoint_url=storage.endpoint_url,  # type: ignore[attr-defined]
            config=config,
            verify=storage.verify,  # type: ignore[attr-defined]
        )
    except AttributeError:  # another S3 storage class: its own client
        return storage.connection.meta.client  # type: ignore[attr-defined]


def _where() -> str:
    name = bucket_name()
    return f"S3 bucket {name!r}" if name else f"media folder {getattr(default_storage, 'location', '?')}"


@register(TAG)
def storage_answers(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Cheap, at every start: the bucket exists (HEAD), or the media folder is writable (or creatable)."""
    name = bucket_name()
    if name:
        try:
            _quick_client().head_bucket(Bucket=name)
        except Exception as exc:
            return [Error(f"S3 bucket {name!r} does not answer: {describe(exc)}", hint=_HINT, id="garden.E010")]
        return []
    location = Path(getattr(default_storage, "location", ""))
    existing = next((folder for folder in (location, *location.parents) if folder.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
        return [Error(f"The media folder {location} cannot be written ({existing} is not a writable folder).", id="garden.E010")]
    return []


@register(TAG, deploy=True)
def storage_writable(app_configs=None, **kwargs) -> list[CheckMessage]:
    """``check --deploy``: write and delete a probe object; the URLs kiosks and staff get are readable."""
    if storage_answers():
        return []  # already reported by the cheap check
    key = f"{PROBE_PREFIX}probe-{uuid.uuid4().hex}.txt"
    try:
        saved = default_storage.save(key, ContentFile(b"emotion-garden storage probe\n"))
    except Exception as exc:
        return [Error(f"Cannot write to the {_where()}: {describe(exc)}", hint=_HINT, id="garden.E011")]
    errors = []
    try:
        if private_pool():
            problem = _fetch_problem(default_storage.url(saved))
            if problem:
                errors.append(Error(f"A presigned URL of the {_where()} is not readable: {problem}", hint=_HINT, id="garden.E013"))
    finally:
        try:
            default_storage.delete(saved)
            if not bucket_name():  # a local folder: leave no empty probe folder behind
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(default_storage.path(saved)))
        except Exception as exc:
            errors.append(Error(f"Cannot delete from the {_where()}: {describe(exc)}", hint=_HINT, id="garden.E011"))
    return errors + _serving_url_errors()


def _serving_url_errors() -> list[CheckMessage]:
    """Where serving is public: one serving image's URL answers an anonymous GET."""
    if not bucket_name() or getattr(default_storage, "querystring_auth", False):
        return []  # local files are served by the app; signed kiosk URLs are not meant to be public
    from garden.models import Image
    from garden.selectors import image_url

    try:
        key = Image.objects.serving().order_by("-id").values_list("key", flat=True).first()
    except DatabaseError:
        return []  # not migrated yet: nothing serves
    if key is None:
        return []
    url = image_url(key)
    problem = _fetch_problem(url)
    if problem:
        return [
            Error(
                f"The public URL of a serving image of the {_where()} is not readable anonymously ({url}): {problem}. "
                "Kiosks load serving images (emotions/…) by plain URL: make that prefix public.",
                hint=_HINT,
                id="garden.E012",
            )
        ]
    return []


def _fetch_problem(url: str, *, opener: Callable = urllib.request.urlopen) -> str:
    """'' when an anonymous GET of ``url`` answers 200, else what went wrong (status and S3 code)."""
    try:
        with opener(urllib.request.Request(url, headers={"Range": "bytes=0-0"}), timeout=TIMEOUT_SECONDS) as response:
            return "" if response.status in (200, 206) else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        body = exc.read(2048).decode("utf-8", "replace")
        code = re.search(r"<Code>([^<]+)</Code>", body)
        return f"HTTP {exc.code}" + (f" {code.group(1)}" if code else "")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def check_at_worker_start(**kwargs) -> None:
    """Celery ``worker_init``: log (do not stop) when the storage does not answer; jobs would fail."""
    for message in storage_answers():
        log.error("Storage check failed at worker start: %s (%s)", message.msg, message.id)
