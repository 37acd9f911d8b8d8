"""Request-body parsers for every API view: bounded reads, and JSON that fails only with a 400.

Separate from config.api because DRF imports its DEFAULT_PARSER_CLASSES while rest_framework.views
is still loading: this module must not import it.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser, JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("Request body too large.")
    default_code = "payload_too_large"


def read_limited(stream, limit: int) -> bytes:
    """Read a request body, refusing (413) anything over ``limit`` bytes without buffering it all."""
    if stream is None:
        return b""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(gettext("Request body is larger than %(limit)s bytes.") % {"limit": limit})
    return body


def decode_json(body: bytes):
    """Parse a JSON body, or raise a 400 saying why; never anything else.

    orjson refuses, with one error type, everything Python's json module turns into a crash or a
    surprise: nesting deeper than 1024 (a RecursionError there), numbers too large for a double
    (integers of thousands of digits: a ValueError there), NaN and Infinity, invalid UTF-8 and
    lone surrogates.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise exceptions.ParseError(gettext("Malformed JSON: %(error)s") % {"error": exc}) from None


class LenientJSONParser(BaseParser):
    """JSON whatever the Content-Type says: old kiosk pages post JSON as text/plain.

    Bodies over the setting named by ``max_bytes_setting`` get 413 (subclasses name their own).
    """

    media_type = "*/*"
    max_bytes_setting = "DATA_UPLOAD_MAX_MEMORY_SIZE"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_limited(stream, getattr(settings, self.max_bytes_setting))
        return decode_json(body) if body.strip() else {}


class SafeJSONParser(JSONParser):
    """DRF's JSON parser (application/json) with decode_json's refusals; the default of every API view."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return decode_json(body) if body.strip() else {}
