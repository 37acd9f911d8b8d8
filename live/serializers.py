from django.conf import settings
from rest_framework import serializers

from garden.serializers import SearchKeyField, VisitorIdField
from recommend.serializers import KeyField


class LiveRequestSerializer(serializers.Serializer):
    """Body of POST /live. Nothing the visitor sends becomes prompt text: only the search key chooses
    the template and word bank (live.services). Unknown extra fields are ignored."""

    id = VisitorIdField(help_text="Visitor id from /emotion, or the device's own")
    emotion = SearchKeyField()


# `from` is a Python keyword: declared by hand.
LiveRequestSerializer._declared_fields["from"] = KeyField(
    required=False, help_text="Optional: the key of a garden picture the visitor liked, to paint from it (img2img at GARDEN_LIVE_STRENGTH)"
)


class LiveAcceptedSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    status = serializers.CharField()
    statusUrl = serializers.URLField(help_text="GET it for the status; also in the Location header")  # noqa: N815 (wire name)


class LiveWaitSerializer(serializers.Serializer):
    """Query of GET /live/<uuid>: how long to wait for the job to change (a bounded long poll)."""

    wait = serializers.FloatField(
        required=False,
        default=0.0,
        min_value=0.0,
        help_text="Seconds to wait for the job to change before answering (more than GARDEN_LIVE_WAIT_SECONDS waits that long); 0: at once",
    )

    def validate_wait(self, value: float) -> float:
        return min(value, settings.GARDEN_LIVE_WAIT_SECONDS)  # capped, so a kiosk never depends on the server's bound


class LivePictureSerializer(serializers.Serializer):
    url = serializers.URLField()
    key = serializers.CharField(help_text="The picture's key: like it with POST /like (itemId)")
    emotion = serializers.CharField()


class LiveStatusSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed", "cancelled"])
    progress = serializers.FloatField(min_value=0.0, max_value=1.0)
    image = LivePictureSerializer(allow_null=True, help_text="Once painted and passed by the safety check; else null")
    withheld = serializers.BooleanField(help_text="Painted, but not shown: the safety check did not pass it")


class LiveUnavailableSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reason = serializers.ChoiceField(choices=["off", "no_live_model", "no_worker", "queue_full", "budget_spent"])


class LiveWithheldSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reason = serializers.ChoiceField(choices=["image_check_off"])
