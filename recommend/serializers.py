from rest_framework import serializers

MAX_IMPRESSION = 3


class LikeRequestSerializer(serializers.Serializer):
    """Body of POST /like: keys, not URLs."""

    id = serializers.UUIDField(help_text="Visitor id from /emotion")
    itemId = serializers.CharField(max_length=512, help_text="Key of the liked image")  # noqa: N815 (wire name)
    impression = serializers.ListField(
        child=serializers.CharField(max_length=512),
        required=False,
        max_length=MAX_IMPRESSION,
        help_text="Keys of the (up to 3) images that were on screen",
    )

    def validate_itemId(self, value):  # noqa: N802 (wire name)
        # CharField would quietly turn a number into "5"; a key is always a string.
        if not isinstance(self.initial_data.get("itemId"), str):
            raise serializers.ValidationError("itemId must be a string key.")
        return value
