from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from config.fields import TextField
from garden import keys, visitors


class VisitorIdField(serializers.Field):
    """A visitor id as kiosks send it (garden.visitors); blank means "no visitor" where allowed."""

    def __init__(self, *, allow_blank: bool = False, **kwargs):
        self.allow_blank = allow_blank
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        try:
            return visitors.parse_visitor_id(data)
        except visitors.InvalidVisitorId as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return value


class SearchKeyField(TextField):
    """A search key (`calm` or `calm/spring,cloudy,day`, any case), returned normalised."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("help_text", "Search key: `emotion` or `emotion/favorite`, e.g. `happy/spring,cloudy,day`.")
        # Only "" is blank; spaces alone are a missing emotion (parse_search_key strips and says so).
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == "" and self.allow_blank:
            return ""
        try:
            emotion, favorite = keys.parse_search_key(value)
        except keys.InvalidKey as exc:
            raise serializers.ValidationError(exc.message) from None
        return keys.search_key(emotion, favorite)


class _VisitorIdSchema(OpenApiSerializerFieldExtension):
    target_class = VisitorIdField

    def map_serializer_field(self, auto_schema, direction):
        choices = [
            {"type": "string", "minLength": 1, "maxLength": visitors.MAX_LENGTH, "pattern": visitors.PATTERN},
            {
                "type": "number",
                "minimum": -visitors.NUMBER_LIMIT,
                "maximum": visitors.NUMBER_LIMIT,
                "exclusiveMinimum": True,
                "exclusiveMaximum": True,
            },
        ]
        if self.target.allow_blank:
            choices.insert(0, {"type": "string", "maxLength": 0})
        description = (
            "Visitor id: any string of 1-64 printable characters (as old devices send), or a number (taken as its "
            "decimal string). The same id is the same visitor on every endpoint."
        )
        return {"oneOf": choices, "description": description + (' "" means no visitor.' if self.target.allow_blank else "")}


class _SearchKeySchema(OpenApiSerializerFieldExtension):
    """The field's pattern in the schema: what parse_search_key accepts, nothing else."""

    target_class = SearchKeyField
    priority = 1  # before config.fields' TextField extension

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        # Blank allowed: drf-spectacular adds the "" alternative itself (oneOf).
        return {"type": "string", "maxLength": field.max_length, "pattern": keys.SEARCH_KEY_PATTERN, "description": str(field.help_text)}


class GardenRequestSerializer(serializers.Serializer):
    """Body of POST /garden and /gardenfromDB. Unknown extra fields are ignored."""

    id = VisitorIdField(required=False, allow_blank=True)
    emotion = SearchKeyField()
    generation = TextField(required=False, allow_blank=True, max_length=32)
    gender = TextField(required=False, allow_blank=True, max_length=16)


class GardenItemSerializer(serializers.Serializer):
    url = serializers.URLField()
    emotion = serializers.CharField()


class GardenResponseSerializer(serializers.Serializer):
    landscape = GardenItemSerializer(many=True)
    portrait = GardenItemSerializer(many=True)
