"""Idempotency keys for write endpoints: a request sent again with the same key is performed once.

A client names a write with an ``Idempotency-Key`` header (kiosk pages that cannot set headers: an
``eventId`` in the JSON body). The first request runs; its key, a fingerprint of what it asked
(method, path, parsed body) and the answer it got are stored in the SAME transaction as its write,
so a write committed is a key committed, and a retry after a lost answer (a connection cut at the
COMMIT: a 503 for a write that was stored) finds the key instead of writing again:

- same key, same request → the first answer again (status, body, ``Location``), marked
  ``Idempotent-Replayed: true``; nothing runs;
- same key, another request → 422;
- a repeat while the first still runs: by default it waits on the key's unique index for the
  first's transaction and then replays its answer; a waiting call (``waits=True``: A1111's, which
  must commit its job for a worker before it can answer) claims its key first, so a repeat gets
  409 with Retry-After;
- no key → the view runs exactly as without this decorator.

An error the view raises stores no key (its transaction rolls back; a waiting call's claim is
removed), and neither does a 5xx the view answers, so a retry runs again. Keys are scoped by caller
(token or session user; else the kiosk's visitor id, else the client's address), so two clients'
keys never meet.

This module is the HTTP side (headers, fingerprints, the decorator and its schema); the keys are
rows of the infra app (``infra.idempotency``: the store it registers in ``AppConfig.ready()``,
deletion requests, the sweep after GARDEN_IDEMPOTENCY_HOURS), which config may not import.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import orjson
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from config.api import client_ip
from config.errors import Conflict, DomainError

HEADER_NAME = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 255
# The headers of an answer that a replay repeats (the rest describe the transport, not the answer):
# a created job's status URL. No other guarded answer sets a header of its own.
KEPT_HEADERS = ("Location",)

HEADER = OpenApiParameter(
    HEADER_NAME,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[\x21-\x7e][\x20-\x7e]{0,254}$",
    description=(
        "Optional, 1 to 255 printable ASCII characters (a UUID): the request is performed once. A repeat with the same key "
        f"and body gets the first answer again (with `{REPLAYED}: true`), one with another body 422, one while the first "
        "still runs waits for it or gets 409. Kept GARDEN_IDEMPOTENCY_HOURS (docs/api.md)."
    ),
)


class BadKey(DomainError):
    """An Idempotency-Key must be 1 to 255 printable ASCII characters."""


class KeyReused(DomainError):
    """This Idempotency-Key was already used for a different request; send a new key for a new request."""

    status_code = 422


class KeyInFlight(Conflict):
    """A request with this Idempotency-Key is still running; retry shortly to get its answer."""

    retry_after = 2


class StoredKey(Protocol):
    fingerprint: str
    status_code: int | None  # None: the first request is still running
    content_type: str
    headers: dict
    body: bytes


class IdempotencyRecords(Protocol):
    """Where keys and their answers are kept (``infra.idempotency.IdempotencyKeyRows``): rows written in the caller's transaction."""

    def claim(self, *, scope: str, key: str, digest: str, expires_at: datetime) -> StoredKey | None:
        """The new key's record, or None when the key exists (after waiting for the transaction holding it)."""
        ...

    def keep(self, record: StoredKey, *, status_code: int, content_type: str, headers: dict, body: bytes) -> None: ...

    def find(self, *, scope: str, key: str) -> StoredKey | None: ...

    def take_over(self, *, scope: str, key: str, digest: str, stale_before: datetime, now: datetime) -> StoredKey | None:
        """The unanswered claim of this request made before ``stale_before`` (its process died), renewed; else None."""
        ...

    def release(self, record: StoredKey) -> None:
        """Remove an unanswered claim, so that a retry runs again."""
        ...


_store: IdempotencyRecords | None = None


def use_idempotency_records(store: IdempotencyRecords) -> None:
    """Called once at start-up (``infra.apps``): where the decorator keeps its keys."""
    global _store
    _store = store


def _keys() -> IdempotencyRecords:
    if _store is None:
        raise ImproperlyConfigured("No idempotency key store: is infra in INSTALLED_APPS?")
    return _store


def request_key(request, body_field: str | None = None) -> str | None:
    """The request's idempotency key: the header, else ``body_field`` of a JSON object body; None without one."""
    value = request.headers.get(HEADER_NAME)
    if value is None and body_field:
        data = request.data
        value = data.get(body_field) if isinstance(data, dict) else None
        if value is not None and not isinstance(value, str):
            raise BadKey(fields={body_field: "Expected a string of 1 to 255 printable ASCII characters."})
    if value is None:
        return None
    value = value.strip()
    if not 0 < len(value) <= MAX_KEY or not (value.isascii() and value.isprintable()):
        raise BadKey()
    return value


def _canonical(value):
    if isinstance(value, File):  # an upload: its name and content, not the form's random boundary
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return ["file", value.name, digest.hexdigest()]
    return value


def fingerprint(request) -> str:
    """sha256 of the method, the path and the parsed body (JSON with sorted keys; a form's fields
    and files), so the same request re-sent by another library or with another boundary matches."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict: form fields and files
        data = sorted([name, [_canonical(value) for value in values]] for name, values in data.lists())
    digest.update(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def visitor_scope(visitor_id: str) -> str:
    """The scope of the keys a kiosk sent for this visitor (a deletion request removes them)."""
    return f"kiosk:{visitor_id}"[:200]


def caller(request) -> str:
    """Whose keys these are: the authenticated user, else the visitor id a kiosk body carries (it
    outlives a Wi-Fi reconnection that changes the address), else the client's address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    data = request.data
    visitor = data.get("id") if isinstance(data, dict) else None
    if isinstance(visitor, str) and visitor:
        return visitor_scope(visitor)
    return f"client:{client_ip(request)}"


class _Unkept(Exception):
    """Rolls back a guarded transaction whose view answered 5xx (the answer still goes out)."""

    def __init__(self, response) -> None:
        self.response = response


def _claim(*, scope: str, key: str, digest: str) -> StoredKey | None:
    expires_at = timezone.now() + timedelta(hours=settings.GARDEN_IDEMPOTENCY_HOURS)
    return _keys().claim(scope=scope, key=key, digest=digest, expires_at=expires_at)


def _keep(record: StoredKey, response) -> None:
    _keys().keep(
        record,
        status_code=response.status_code,
        content_type=response.get("Content-Type", ""),
        headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
        body=response.content,
    )


def _replay(*, scope: str, key: str, digest: str) -> HttpResponse:
    record = _keys().find(scope=scope, key=key)
    if record is None or record.status_code is None:  # still running (or just rolled back): ask again
        raise KeyInFlight()
    if record.fingerprint != digest:
        raise KeyReused()
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAYED] = "true"
    return response


def _in_transaction(run: Callable, *, scope: str, key: str, digest: str):
    try:
        with transaction.atomic():
            record = _claim(scope=scope, key=key, digest=digest)
            if record is not None:
                response = run()
                if response.status_code >= 500:
                    raise _Unkept(response)
                _keep(record, response)
                return response
    except _Unkept as unkept:
        return unkept.response
    return _replay(scope=scope, key=key, digest=digest)


def _claimed(run: Callable, *, scope: str, key: str, digest: str):
    record = _claim(scope=scope, key=key, digest=digest)  # committed: a repeat sees the claim at once
    if record is None:
        # A claim whose process died (no answer after GARDEN_IDEMPOTENCY_CLAIM_SECONDS) is taken over.
        now = timezone.now()
        stale = now - timedelta(seconds=settings.GARDEN_IDEMPOTENCY_CLAIM_SECONDS)
        record = _keys().take_over(scope=scope, key=key, digest=digest, stale_before=stale, now=now)
        if record is None:
            return _replay(scope=scope, key=key, digest=digest)
    try:
        response = run()
    except BaseException:
        _keys().release(record)
        raise
    if response.status_code >= 500 and response.status_code != 504:  # 504: its job exists, the answer names it
        _keys().release(record)
    else:
        _keep(record, response)
    return response


def idempotent(*, body_field: str | None = None, waits: bool = False):
    """Decorator for a DRF view's write handler (``def post(self, request, …)``): see the module.

    ``body_field``: the JSON body's field that may carry the key (the kiosk's ``eventId``).
    ``waits``: the handler commits on its own before it answers (it waits for a job): claim the key first.
    """

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request_key(request, body_field)
            if key is None:
                return handler(view, request, *args, **kwargs)

            def run():
                response = handler(view, request, *args, **kwargs)
                if isinstance(response, Response):  # rendered here, so its bytes can be kept
                    response = view.finalize_response(request, response, *args, **kwargs)
                    response.render()
                return response

            guard = _claimed if waits else _in_transaction
            return guard(run, scope=caller(request), key=key, digest=fingerprint(request))

        return extend_schema(parameters=[HEADER])(wrapper)

    return decorate
