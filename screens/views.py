"""The screens' HTTP side: ``POST /screens/beat`` (every page's heartbeat) and ``POST /screens/enrol``
(a device takes its secret once). Thin: parse, call screens.services, answer.

Bodies are read raw and bounded (413 past MAX_BEAT_BYTES) because the signature covers their exact
bytes; only then are they parsed and checked (400 naming the field). docs/fleet.md has the protocol.
"""

from __future__ import annotations

import re

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import KioskRateThrottle, LenientJSONParser, validated, validated_object
from config.parsers import decode_json, read_limited
from config.schema import error
from screens import services
from screens.serializers import MAX_BEAT_BYTES, BeatSerializer, EnrolSerializer

ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9-]{8,36}$")
NO_STORE = "no-store"


class RawBodyParser(BaseParser):
    """The body's exact bytes (at most MAX_BEAT_BYTES, else 413), whatever the Content-Type."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return read_limited(stream, MAX_BEAT_BYTES)


HEADERS = [
    OpenApiParameter("X-Screen", str, OpenApiParameter.HEADER, description="An enrolled screen's id"),
    OpenApiParameter("X-Screen-Time", str, OpenApiParameter.HEADER, description="The beat's own time, ms since the epoch"),
    OpenApiParameter(
        "X-Screen-Signature",
        str,
        OpenApiParameter.HEADER,
        description="Hex HMAC-SHA256 under the device secret of '<id>\\n<time>\\n' and the body's bytes",
    ),
    OpenApiParameter(
        "X-Screen-Anonymous", str, OpenApiParameter.HEADER, description="An unenrolled page's own random id (no signature then)"
    ),
]


class BeatView(APIView):
    """A page's heartbeat: its state in, the commands waiting for it and the server's page version out."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]
    throttle_classes = [KioskRateThrottle]  # per address, as every kiosk call; each screen has its own limit too

    @extend_schema(
        request={"application/json": BeatSerializer},
        parameters=HEADERS,
        responses={
            200: OpenApiResponse(description="`{now, version, interval, enrolled, maintenance, commands: [{id, kind, argument}]}`"),
            400: error("A field of the beat is missing or wrong (named)"),
            401: error("No signature headers and no anonymous id"),
            403: error("Unknown screen, a signature that does not match, or a time outside the window or not newer (`code`)"),
            413: error("Body over 8 KB"),
            429: error("Too many beats from this screen (Retry-After)"),
        },
        summary="A screen's heartbeat",
    )
    def post(self, request):
        body = request.data if isinstance(request.data, bytes) else b""
        headers = request.headers
        if "X-Screen" in headers or "X-Screen-Signature" in headers:
            screen, timestamp = services.authenticate(
                screen_id=headers.get("X-Screen", ""),
                timestamp=headers.get("X-Screen-Time", ""),
                signature=headers.get("X-Screen-Signature", ""),
                body=body,
            )
            services.throttle(str(screen.pk))
            beat = validated_object(BeatSerializer, decode_json(body))
            answer = services.record_beat(screen=screen, beat=beat, timestamp_ms=timestamp)
        else:
            anonymous = headers.get("X-Screen-Anonymous", "")
            if not ANONYMOUS_ID.match(anonymous):
                raise services.BeatUnsigned("A beat needs X-Screen and its signature, or an unenrolled page's X-Screen-Anonymous id.")
            services.throttle(f"anonymous:{anonymous}")
            beat = validated_object(BeatSerializer, decode_json(body))
            answer = services.record_anonymous_beat(anonymous_id=anonymous, beat=beat)
        return Response(answer, headers={"Cache-Control": NO_STORE})


class EnrolView(APIView):
    """The device that opened an enrolment link takes its screen's secret (once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [LenientJSONParser]
    throttle_classes = [KioskRateThrottle]

    @extend_schema(
        request={"application/json": EnrolSerializer},
        responses={
            200: OpenApiResponse(description="`{screen, name, kind, secret, next}`: the secret is answered this once"),
            400: error("No token"),
            404: error("The link was used, expired or replaced"),
        },
        summary="Enrol a screen",
    )
    def post(self, request):
        data = validated(EnrolSerializer, request)
        anonymous = data["anonymous"] if ANONYMOUS_ID.match(data["anonymous"]) else ""
        screen, secret = services.enrol(token=data["token"], anonymous_id=anonymous)
        body = {"screen": screen.pk, "name": screen.name, "kind": screen.kind, "secret": secret, "next": start_path(screen)}
        return Response(body, headers={"Cache-Control": NO_STORE})


def start_path(screen) -> str:
    """Where an enrolled device goes: the kiosk, or its zone's signage page (URL names, not imports:
    those pages live in apps above this one)."""
    if screen.kind == screen.Kind.SIGNAGE and screen.zone:
        return reverse("display-signage", kwargs={"zone": screen.zone})
    return reverse("kiosk")
