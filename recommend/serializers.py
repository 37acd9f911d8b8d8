from rest_framework import serializers

MAX_IMPRESSION = 3
# An explicit impression call may report a longer screen (a scrolled list); bounded all the same.
MAX_REPORTED_IMPRESSION = 50


def as_key(value: str) -> str:
    """Keys, but URLs are forgiven: kiosks cut keys out of URLs at 'emotions' the same way."""
    at = value.rfind("emotions/")
    return value[at:] if value.startswith(("http://", "https://", "/")) and at >= 0 else value


class KeyField(serializers.CharField):
    def to_internal_value(self, data):
        return as_key(super().to_internal_value(data))


class RecommendationIdField(serializers.CharField):
    """The X-Recommendation-Id that /garden returned; optional, any string or number accepted."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, allow_null=True, max_length=32, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data))


class LikeRequestSerializer(serializers.Serializer):
    """Body of POST /like: keys, not URLs."""

    id = serializers.UUIDField(help_text="Visitor id from /emotion")
    itemId = serializers.CharField(max_length=512, help_text="Key of the liked image")  # noqa: N815 (wire name)
    impression = serializers.ListField(
        child=KeyField(max_length=512),
        required=False,
        max_length=MAX_IMPRESSION,
        help_text="Keys of the (up to 3) images that were on screen",
    )
    recommendationId = RecommendationIdField(help_text="Optional: the X-Recommendation-Id header of the /garden answer")  # noqa: N815

    def validate_itemId(self, value):  # noqa: N802 (wire name)
        # CharField would quietly turn a number into "5"; a key is always a string.
        if not isinstance(self.initial_data.get("itemId"), str):
            raise serializers.ValidationError("itemId must be a string key.")
        return value


class ImpressionRequestSerializer(serializers.Serializer):
    """Body of POST /impression: a screen the visitor saw without liking anything."""

    id = serializers.UUIDField(help_text="Visitor id from /emotion")
    impression = serializers.ListField(
        child=KeyField(max_length=512),
        min_length=1,
        max_length=MAX_REPORTED_IMPRESSION,
        help_text="Keys of the images that were on screen",
    )
    recommendationId = RecommendationIdField(help_text="Optional: the X-Recommendation-Id header of the /garden answer")  # noqa: N815


class DislikeRequestSerializer(serializers.Serializer):
    """Body of POST /dislike: undo a like (and keep the image out of this visitor's gardens)."""

    id = serializers.UUIDField(help_text="Visitor id from /emotion")
    itemId = serializers.CharField(max_length=512, help_text="Key of the image")  # noqa: N815 (wire name)
    recommendationId = RecommendationIdField(help_text="Optional: the X-Recommendation-Id header of the /garden answer")  # noqa: N815

    def validate_itemId(self, value):  # noqa: N802 (wire name)
        if not isinstance(self.initial_data.get("itemId"), str):
            raise serializers.ValidationError("itemId must be a string key.")
        return value
