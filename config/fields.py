"""Serializer fields shared by the APIs."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class TextField(serializers.CharField):
    """A string, and only a string: DRF's CharField quietly turns 5 into "5" and True into "True",
    which lets values through that the schema (and the client's intent) never allowed."""

    def run_validation(self, data=serializers.empty):
        # Before trimming, as the schema counts: CharField returns "" for blank input before any check.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _TextSchema(OpenApiSerializerFieldExtension):
    """A TextField in the schema: what CharField says, plus no NUL character (DRF refuses them)."""

    target_class = TextField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        patterns = [validator.regex.pattern for validator in self.target.validators if isinstance(validator, RegexValidator)]
        # Never matching "": for a field that allows blanks drf-spectacular adds a "" alternative (oneOf).
        schema["pattern"] = patterns[0] if patterns else "^[^\\x00]+$"
        return schema


class WholeNumberField(serializers.IntegerField):
    """An integer, and only a JSON integer: not "12", not 12.0, not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class NumberField(serializers.FloatField):
    """A JSON number (integer or not), not a string or a boolean."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)
