"""POST /emotion: the legacy kiosk call (raw photo bytes in, Rekognition-shaped labels out)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from config.api import KioskAPIView
from config.parsers import read_limited
from config.schema import error
from garden.faces.services import EmotionReading, read_emotion
from garden.faces.types import EMOTION_LABELS
from garden.visitors import MAX_LENGTH, PATTERN, parse_visitor_id

KIOSK_NOTICE = (
    "This kiosk estimates the apparent facial expression, an age range and a gender from one photo "
    "to choose garden images. It does not read your feelings. The photo is analysed in memory and "
    "deleted at once; only the estimated labels are kept, under a random visitor number."
)


class RawPhotoParser(BaseParser):
    """The body as bytes, whatever the Content-Type: canvases send image/png, curl image/jpeg or
    application/x-www-form-urlencoded. The bytes are sniffed later; the header is not trusted."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return read_limited(stream, settings.GARDEN_MAX_UPLOAD_BYTES)


class EmotionResponseSerializer(serializers.Serializer):
    """Schema only: the exact legacy key set (docs/contracts.md)."""

    id = serializers.CharField(help_text="The visitor id: X-user-id exactly as sent (UUIDs lower-cased), else a new UUIDv4.")
    bucket = serializers.CharField(help_text="Legacy field; no photo is stored in it.")
    key = serializers.CharField(help_text="Legacy field `profile/<id>.jpeg`; no such object is written.")
    ageRange = serializers.DictField(child=serializers.IntegerField(), help_text='{"Low": int, "High": int}, apparent age.')  # noqa: N815 (legacy wire key)
    smile = serializers.BooleanField(help_text="Local backend: the expression model's happy score ≥ 0.5.")
    eyeglasses = serializers.BooleanField(help_text="Local backend: not estimated, always false.")
    sunglasses = serializers.BooleanField(help_text="Local backend: not estimated, always false.")
    gender = serializers.ChoiceField(choices=["Male", "Female"], help_text="Apparent gender, binary as Rekognition's.")
    beard = serializers.BooleanField(help_text="Local backend: not estimated, always false.")
    mustache = serializers.BooleanField(help_text="Local backend: not estimated, always false.")
    eyesOpen = serializers.BooleanField(help_text="Local backend: eye aspect ratio from face-mesh landmarks.")  # noqa: N815
    mouthOpen = serializers.BooleanField(help_text="Local backend: inner-lip gap from face-mesh landmarks.")  # noqa: N815
    emotions = serializers.ChoiceField(
        choices=list(EMOTION_LABELS),
        help_text="Highest-confidence apparent expression. The local backend never returns CONFUSED.",
    )
    generation = serializers.CharField(help_text="toddler, child, teenager, young-adult, adult, middle-age or elder.")


def emotion_payload(reading: EmotionReading) -> dict:
    """The legacy body, exactly these keys. Unknown (not estimated) booleans are false."""
    face = reading.face
    visitor_id = str(reading.visitor.id)
    return {
        "id": visitor_id,
        "bucket": settings.GARDEN_LEGACY_BUCKET,
        "key": f"profile/{visitor_id}.jpeg",
        "ageRange": {"Low": face.age_low, "High": face.age_high},
        "smile": bool(face.smile),
        "eyeglasses": bool(face.eyeglasses),
        "sunglasses": bool(face.sunglasses),
        "gender": face.gender,
        "beard": bool(face.beard),
        "mustache": bool(face.mustache),
        "eyesOpen": bool(face.eyes_open),
        "mouthOpen": bool(face.mouth_open),
        "emotions": reading.emotion,
        "generation": reading.age_group,
    }


def _header_text(value: str) -> str:
    """WSGI hands headers over as latin-1; a device that sent UTF-8 (a Korean id) gets it back intact."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class EmotionView(KioskAPIView):
    """Estimate the apparent expression of the largest face in a photo and remember the visitor."""

    parser_classes = [RawPhotoParser]

    @extend_schema(
        summary="Apparent facial expression of the largest face (legacy kiosk call)",
        description=(
            "Body: the raw bytes of one PNG, JPEG or WebP photo (not JSON, not base64); the format is "
            "read from the bytes, whatever Content-Type says.\n\n"
            "**What is estimated**: the *apparent* facial expression (how the face looks, not what the "
            "person feels), an apparent age range and a binary apparent gender, from the largest face. "
            "With the default offline backend, `eyesOpen`/`mouthOpen` come from face-mesh landmarks and "
            "`smile` from the expression model; `eyeglasses`, `sunglasses`, `beard` and `mustache` are "
            "**not estimated and always false**, and `CONFUSED` is never returned (no bundled model "
            "knows it). With `GARDEN_FACE_BACKEND=rekognition` every field is AWS Rekognition's.\n\n"
            "**Privacy**: the photo is analysed in memory and discarded; it is never stored, logged or "
            "uploaded to S3 (the `bucket`/`key` fields are kept for old clients only). The visitor row "
            "keeps the derived labels. Kiosks should show this notice: \u201c" + KIOSK_NOTICE + "\u201d"
        ),
        request={"image/jpeg": OpenApiTypes.BINARY, "image/png": OpenApiTypes.BINARY, "image/webp": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "X-user-id",
                {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": PATTERN},
                OpenApiParameter.HEADER,
                required=False,
                description="Reuse this visitor id: any string of 1-64 printable characters (old devices send their own, e.g. 1234567890).",
            )
        ],
        responses={
            200: EmotionResponseSerializer,
            400: error("Empty, truncated or corrupt image, or an unusable X-user-id"),
            (404, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Plain-text body `No Face`"),
            413: error(
                "Body over GARDEN_MAX_UPLOAD_BYTES, or more pixels than GARDEN_FACE_MAX_PIXELS (JPEG) or "
                "GARDEN_FACE_MAX_FULL_DECODE_PIXELS (PNG, WebP)"
            ),
            415: error("Not a PNG, JPEG or WebP image"),
            503: error("The analysis backend is unavailable"),
        },
        examples=[
            OpenApiExample(
                "Smiling adult",
                response_only=True,
                value={
                    "id": "47f9eeb5-4252-435e-a1c9-b4a936f015ae",
                    "bucket": "emotion-garden",
                    "key": "profile/47f9eeb5-4252-435e-a1c9-b4a936f015ae.jpeg",
                    "ageRange": {"Low": 28, "High": 35},
                    "smile": True,
                    "eyeglasses": False,
                    "sunglasses": False,
                    "gender": "Female",
                    "beard": False,
                    "mustache": False,
                    "eyesOpen": True,
                    "mouthOpen": True,
                    "emotions": "HAPPY",
                    "generation": "adult",
                },
            )
        ],
    )
    def post(self, request):
        raw_id = _header_text(request.headers.get("X-user-id", "")).strip()
        visitor_id = parse_visitor_id(raw_id) if raw_id else None  # InvalidVisitorId → 400
        photo = request.data
        if not isinstance(photo, bytes) or not photo:
            raise ParseError(gettext("Send the photo as the raw request body."))
        reading = read_emotion(photo=photo, visitor_id=visitor_id)  # PhotoError → 4xx, FaceBackendError → 503
        if reading is None:
            return HttpResponse("No Face", status=404, content_type="text/plain; charset=utf-8")
        return Response(emotion_payload(reading))
