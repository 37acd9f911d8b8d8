"""The beat's body and the enrolment call, checked field by field (a 400 names the field).

A beat holds the page's own state and nothing about a visitor: no id, no picture, no frame. Only
these fields are kept; anything else a page sends is dropped unread (docs/privacy.md).
"""

from __future__ import annotations

from rest_framework import serializers

from config.fields import NumberField, TextField, WholeNumberField

CAMERA_STATES = ("ok", "starting", "no_permission", "no_device", "frozen", "ended", "unsupported", "none")
WAKE_LOCK_STATES = ("held", "released", "refused", "unsupported")
RELOAD_REASONS = ("", "version", "errors", "heap")
MAX_ERRORS = 5
MAX_ACKS = 10
MAX_TEXT = 200
MAX_BEAT_BYTES = 8192  # a full beat (five errors of 200 characters, ten acks) is under 4 KB


class OutboxSerializer(serializers.Serializer):
    length = WholeNumberField(min_value=0, max_value=100_000)
    oldest = NumberField(min_value=0, max_value=10**8, help_text="Seconds the oldest waiting event has waited")


class ErrorSerializer(serializers.Serializer):
    at = NumberField(min_value=0, max_value=10**9, help_text="The page's uptime when it happened (s)")
    message = TextField(max_length=MAX_TEXT, allow_blank=True, trim_whitespace=False)
    source = TextField(max_length=MAX_TEXT, allow_blank=True, required=False, default="")


class HeapSerializer(serializers.Serializer):
    used = WholeNumberField(min_value=0, max_value=2**53)
    limit = WholeNumberField(min_value=0, max_value=2**53)


class ScreenSizeSerializer(serializers.Serializer):
    width = WholeNumberField(min_value=0, max_value=100_000)
    height = WholeNumberField(min_value=0, max_value=100_000)
    dpr = NumberField(min_value=0, max_value=16, required=False, default=1)


class AckSerializer(serializers.Serializer):
    id = WholeNumberField(min_value=1)
    ok = serializers.BooleanField()
    detail = TextField(max_length=MAX_TEXT, allow_blank=True, required=False, default="")


class BeatSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["kiosk", "signage"])
    page = TextField(max_length=MAX_TEXT, help_text="The page's path (no query string)")
    version = TextField(max_length=64, allow_blank=True, help_text="The page version it was rendered with")
    language = TextField(max_length=16)
    interval = NumberField(min_value=1, max_value=3600, help_text="Seconds between its beats")
    load = TextField(max_length=32, help_text="A random id of this page load")
    uptime = NumberField(min_value=0, max_value=10**9, help_text="Seconds since the page loaded")
    camera = serializers.ChoiceField(choices=CAMERA_STATES)
    outbox = OutboxSerializer(required=False, allow_null=True, default=None)
    errors = ErrorSerializer(many=True, max_length=MAX_ERRORS, required=False, default=list)
    errorCount = WholeNumberField(min_value=0, max_value=2**31, required=False, default=0)  # noqa: N815 (the wire's name)
    visitors = WholeNumberField(min_value=0, max_value=10**7, help_text="Visitors served since the page loaded (a count)")
    heap = HeapSerializer(required=False, allow_null=True, default=None)
    screen = ScreenSizeSerializer()
    wakeLock = serializers.ChoiceField(choices=WAKE_LOCK_STATES, required=False, default="unsupported")  # noqa: N815
    maintenance = serializers.BooleanField(required=False, default=False, help_text="The maintenance notice is on screen now")
    reload = serializers.ChoiceField(choices=RELOAD_REASONS, required=False, default="", help_text="Why it will reload when idle")
    acks = AckSerializer(many=True, max_length=MAX_ACKS, required=False, default=list)


class EnrolSerializer(serializers.Serializer):
    token = TextField(max_length=64)
    anonymous = TextField(max_length=36, required=False, default="", allow_blank=True)
