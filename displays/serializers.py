"""The /updateDisplay body: types only; displays.services checks zones and keys (and names them).

The fields are JSONField so that a wrong type gets the service's own message. BODY_SCHEMA is what
the OpenAPI schema states: a valid body, so that clients and the fuzzing pass know it.
"""

from rest_framework import serializers

from displays.selectors import SLOTS
from garden import keys

# A serving image key of one orientation as garden.keys parses it, with the favorite segment as the
# generation API writes it: the pattern admits no key the service calls unsafe.
SERVING_KEY = (
    rf"^emotions/(?:{'|'.join(keys.EMOTIONS)})/(?:[a-z0-9][a-z0-9 ,_'-]{{0,99}}/)?"
    r"img_\d{8}-\d{1,6}(?:-[0-9a-z]+)?_\d+%s\.jpe?g$"  # serving images are JPEG
)


def _slot_keys(orientation: str, side: str) -> dict:
    return {
        "type": "array",
        "nullable": True,
        "maxItems": SLOTS,
        "items": {"type": "string", "pattern": SERVING_KEY % orientation},
        "description": f"Serving {side} keys (emotions/…{orientation}.jpeg) for slots img1{orientation}…img{SLOTS}{orientation}, "
        "in order; omitted: left as it is",
    }


BODY_SCHEMA = {
    "type": "object",
    "required": ["zone"],
    "properties": {
        "zone": {"type": "string", "pattern": keys.DISPLAY_ZONE_RE.pattern, "description": "A short lower-case name, e.g. zone1"},
        "landscape": _slot_keys("h", "landscape"),
        "portrait": _slot_keys("v", "portrait"),
    },
    # At least one list (null: "left as it is" for that side).
    "anyOf": [{"required": [side], "properties": {side: {"type": "array"}}} for side in ("landscape", "portrait")],
}


class UpdateDisplaySerializer(serializers.Serializer):
    zone = serializers.JSONField()
    landscape = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True, default=None)
    portrait = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True, default=None)
