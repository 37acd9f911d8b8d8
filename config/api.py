"""Shared plumbing for the HTTP APIs: the kiosk view base, lenient JSON parsing, error mapping."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def read_limited(stream, limit: int) -> bytes:
    """Read a request body, refusing (413) anything over ``limit`` bytes without buffering it all."""
    if stream is None:
        return b""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    return body


class LenientJSONParser(BaseParser):
    """JSON whatever the Content-Type says: old kiosk pages post JSON as text/plain."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from None


class KioskRateThrottle(ScopedRateThrottle):
    """Per-client-IP limit for kiosk calls; the rate is read per request (GARDEN_KIOSK_RATE)."""

    def get_rate(self):
        return settings.GARDEN_KIOSK_RATE


class KioskAPIView(APIView):
    """Legacy kiosk endpoints: anonymous, no CSRF cookie, throttled by the `kiosk` rate."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [LenientJSONParser]
    throttle_classes = [KioskRateThrottle]
    throttle_scope = "kiosk"


def json_object(request) -> dict:
    """The request body as a JSON object, or a 400."""
    if not isinstance(request.data, dict):
        raise exceptions.ParseError("Expected a JSON object.")
    return request.data


def exception_handler(exc, context):
    """DRF's handler, plus: oversized bodies → 413; nothing unexpected leaks a stack trace."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django logs it and returns a bare 500 (DEBUG is off)
    return response


def bad_request(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)
