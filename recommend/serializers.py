from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import TextField
from garden.serializers import VisitorIdField

# A kiosk screen: three garden pictures and the picture painted live for the visitor (docs/kiosk.md).
MAX_IMPRESSION = 4
# An explicit impression call may report a longer screen (a scrolled list); bounded all the same.
MAX_REPORTED_IMPRESSION = 50


def as_key(value: str) -> str:
    """Keys, but URLs are forgiven: kiosks cut keys out of URLs at 'emotions' the same way."""
    at = value.rfind("emotions/")
    return value[at:] if value.startswith(("http://", "https://", "/")) and at >= 0 else value


class KeyField(TextField):
    """An image key, or a URL ending with one (a string of 1 to 512 characters)."""

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=512, **kwargs)

    def to_internal_value(self, data):
        return as_key(super().to_internal_value(data))


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "maxLength": 32}, {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}],
        "nullable": True,
        "description": "Optional: the X-Recommendation-Id header of the /garden answer (an unknown one is ignored).",
    }
)
class RecommendationIdField(serializers.Field):
    """The X-Recommendation-Id that /garden returned, as a string or a number; attribution is best
    effort, so an unknown id is dropped later, but a boolean, list or object is a 400."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        out_of_range = isinstance(data, int) and not 0 <= data < 2**63
        if isinstance(data, bool) or not isinstance(data, str | int) or len(str(data)) > 32 or out_of_range:
            raise serializers.ValidationError(gettext("Expected the X-Recommendation-Id of a /garden answer: a string or a number."))
        return str(data)

    def to_representation(self, value):
        return value


def event_id_field() -> TextField:
    """The kiosk's own id for this event: sent again with a retry, it is stored once (infra.idempotency)."""
    return TextField(required=False, min_length=1, max_length=255, help_text="Optional: this event's id (as an Idempotency-Key header)")


class LikeRequestSerializer(serializers.Serializer):
    """Body of POST /like: keys, not URLs."""

    id = VisitorIdField(help_text="Visitor id from /emotion, or the device's own")
    itemId = KeyField(help_text="Key of the liked image (a URL ending with the key is accepted too)")  # noqa: N815 (wire name)
    impression = serializers.ListField(
        child=KeyField(),
        required=False,
        max_length=MAX_IMPRESSION,
        help_text="Keys of the (up to 4) images that were on screen",
    )
    recommendationId = RecommendationIdField()  # noqa: N815 (wire name)
    eventId = event_id_field()  # noqa: N815 (wire name)


class ImpressionRequestSerializer(serializers.Serializer):
    """Body of POST /impression: a screen the visitor saw without liking anything."""

    id = VisitorIdField(help_text="Visitor id from /emotion, or the device's own")
    impression = serializers.ListField(
        child=KeyField(),
        min_length=1,
        max_length=MAX_REPORTED_IMPRESSION,
        help_text="Keys of the images that were on screen",
    )
    recommendationId = RecommendationIdField()  # noqa: N815 (wire name)
    eventId = event_id_field()  # noqa: N815 (wire name)


class DislikeRequestSerializer(serializers.Serializer):
    """Body of POST /dislike: undo a like (and keep the image out of this visitor's gardens)."""

    id = VisitorIdField(help_text="Visitor id from /emotion, or the device's own")
    itemId = KeyField(help_text="Key of the image (a URL ending with the key is accepted too)")  # noqa: N815 (wire name)
    recommendationId = RecommendationIdField()  # noqa: N815 (wire name)
    eventId = event_id_field()  # noqa: N815 (wire name)
