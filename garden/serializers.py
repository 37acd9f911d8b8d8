from rest_framework import serializers

from garden import keys


class GardenRequestSerializer(serializers.Serializer):
    """Body of POST /garden and /gardenfromDB. Unknown extra fields are ignored."""

    id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    emotion = serializers.CharField(max_length=200, help_text="Search key: `emotion` or `emotion/favorite`.")
    generation = serializers.CharField(required=False, allow_blank=True, max_length=32)
    gender = serializers.CharField(required=False, allow_blank=True, max_length=16)

    def validate_emotion(self, value):
        try:
            emotion, favorite = keys.parse_search_key(value)
        except keys.InvalidKey as exc:
            raise serializers.ValidationError(str(exc)) from None
        return keys.search_key(emotion, favorite)


class GardenItemSerializer(serializers.Serializer):
    url = serializers.URLField()
    emotion = serializers.CharField()


class GardenResponseSerializer(serializers.Serializer):
    landscape = GardenItemSerializer(many=True)
    portrait = GardenItemSerializer(many=True)
