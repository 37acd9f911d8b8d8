"""The /updateDisplay body: types only; displays.services checks zones and keys (and names them)."""

from rest_framework import serializers


class UpdateDisplaySerializer(serializers.Serializer):
    zone = serializers.JSONField(help_text="A short lower-case name, e.g. zone1 (checked by the service)")
    landscape = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Serving landscape keys (emotions/…h.jpeg) for slots img1h…img8h, in order; omitted: left as it is",
    )
    portrait = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Serving portrait keys (emotions/…v.jpeg) for slots img1v…img8v, in order; omitted: left as it is",
    )
