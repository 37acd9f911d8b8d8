"""Parsing retouch requests (multipart with pictures, or JSON) into a JobRequest and its uploads.

Types only: every default and bound is in ``retouch.options`` (RetouchOptions.validate);
the pictures are checked by ``retouch.services``. Multipart bodies carry the nested
values (``controls``, ``reference``) as JSON text; JSON bodies carry them as they are.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.parsers import MultiPartParser

from config.api import PayloadTooLarge
from generation.backends.diffusion import SCHEDULERS
from generation.models import GenerationJob
from generation.requests import SEED_LIMIT, TEXT_LIMITS, JobRequest
from retouch import edges, imaging
from retouch.models import RetouchKind
from retouch.options import MAX_CONTROLS, ControlUnit, Reference, RetouchOptions
from retouch.services import RetouchUploads
from retouch.upscale import LABEL as UPSCALE_LABEL
from retouch.upscale import UPSCALE, UpscaleOptions

CONTROL_KEYS = {"type", "scale", "start", "end", "mode", "low", "high"}


class RetouchMultiPartParser(MultiPartParser):
    """Multipart with pictures, refused (413) past GARDEN_RETOUCH_MAX_BODY_BYTES before it is read."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        if length > settings.GARDEN_RETOUCH_MAX_BODY_BYTES:
            message = gettext("Request body is larger than %(limit)s bytes (%(setting)s).")
            raise PayloadTooLarge(message % {"limit": settings.GARDEN_RETOUCH_MAX_BODY_BYTES, "setting": "GARDEN_RETOUCH_MAX_BODY_BYTES"})
        return super().parse(stream, media_type, parser_context)


class OptionalBoolean(serializers.BooleanField):
    """A boolean that, left out of a multipart form, means "the default" rather than False."""

    default_empty_html = empty


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "description": "or text: numbers separated by commas"})
class Numbers(serializers.Field):
    """Whole numbers as a JSON list or as text (``"10,20,64,64"``); ``length`` of them."""

    def __init__(self, *, length: int, **kwargs) -> None:
        self.length = length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = data.split(",") if isinstance(data, str) else data
        try:
            if not isinstance(values, list | tuple) or len(values) != self.length or any(isinstance(v, bool | float) for v in values):
                raise ValueError
            return tuple(int(str(value).strip()) for value in values)
        except (TypeError, ValueError):
            message = gettext("Expected %(count)s whole numbers, as a list or separated by commas.")
            raise serializers.ValidationError(message % {"count": self.length}) from None

    def to_representation(self, value):
        return list(value)


@extend_schema_field({"description": "JSON (as text in a multipart form)"})
class JSONValue(serializers.Field):
    """A nested value: as it is in a JSON body, or JSON text in a form field."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                return json.loads(data) if data.strip() else None
            except (ValueError, RecursionError):
                raise serializers.ValidationError(gettext("Expected JSON.")) from None
        return data

    def to_representation(self, value):
        return value


class RetouchJobSerializer(serializers.Serializer):
    # All kinds, as in JobCreateSerializer (one enum in the schema); the service refuses non-retouch ones.
    kind = serializers.ChoiceField(choices=[*GenerationJob.Kind.choices, *RetouchKind.choices], help_text="retouch or retouch_batch")
    prompt = serializers.CharField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["prompt"])
    negative_prompt = serializers.CharField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["negative_prompt"])
    emotion = serializers.CharField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["emotion"])
    steps = serializers.IntegerField(required=False, allow_null=True, default=None)
    guidance = serializers.FloatField(required=False, allow_null=True, default=None)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)
    count = serializers.IntegerField(required=False, default=1)
    image = serializers.FileField(required=False, help_text="The source: PNG, JPEG or WebP (or give image_id)")
    image_id = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A garden image as the source")
    mask = serializers.FileField(required=False, help_text="White or opaque = repaint; default: the whole rectangle")
    rect = Numbers(length=4, required=False, allow_null=True, default=None, help_text="x,y,width,height; default: the mask's box + padding")
    padding = serializers.IntegerField(required=False, allow_null=True, default=None)
    work_size = serializers.IntegerField(required=False, allow_null=True, default=None)
    strength = serializers.FloatField(required=False, allow_null=True, default=None)
    mask_blur = serializers.FloatField(required=False, allow_null=True, default=None)
    opacity = serializers.FloatField(required=False, allow_null=True, default=None)
    noise_multiplier = serializers.FloatField(required=False, allow_null=True, default=None)
    color_match = OptionalBoolean(required=False, allow_null=True, default=None)
    invert_mask = OptionalBoolean(required=False, allow_null=True, default=None)
    masked_content = serializers.ChoiceField(choices=imaging.MASKED_CONTENT, required=False, default="original")
    sampler = serializers.ChoiceField(choices=["", *SCHEDULERS], required=False, allow_blank=True, default="")
    controls = JSONValue(
        required=False, allow_null=True, default=None, help_text='[{"type": "lineart"|"canny", "scale", "start", "end", "mode"}]'
    )
    reference = JSONValue(required=False, allow_null=True, default=None, help_text='true, or {"scale": 0.6}: keep the look of the source')
    reference_image = serializers.FileField(required=False, help_text="Keep the look of this picture instead of the source")
    frames = serializers.FileField(required=False, help_text="retouch_batch: a zip of frames")
    masks = serializers.FileField(required=False, help_text="retouch_batch: a zip of masks paired by file name")
    range = Numbers(length=2, required=False, allow_null=True, default=None, help_text="retouch_batch: first,last frame (1-based)")
    vary_seed = OptionalBoolean(required=False, allow_null=True, default=None)
    fixed_rect = OptionalBoolean(required=False, allow_null=True, default=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for number in range(MAX_CONTROLS):
            self.fields[f"control_{number}"] = serializers.FileField(required=False, help_text=f"An edited edge map for controls[{number}]")

    def validate_controls(self, value):
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(unit, dict) for unit in value):
            raise serializers.ValidationError(gettext("Expected a list of objects."))
        if len(value) > MAX_CONTROLS:
            raise serializers.ValidationError(gettext("At most %(limit)s controls.") % {"limit": MAX_CONTROLS})
        for unit in value:
            if unknown := set(unit) - CONTROL_KEYS:
                raise serializers.ValidationError(gettext("Unknown control fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
            if unit.get("type") not in edges.DETECTORS:
                raise serializers.ValidationError(gettext("Each control needs a type: %(types)s.") % {"types": ", ".join(edges.DETECTORS)})
        return tuple(ControlUnit(**unit) for unit in value)

    def validate_reference(self, value):
        if value in (None, False):
            return None
        if value is True:
            return Reference()
        if isinstance(value, dict) and set(value) <= {"scale"}:
            return Reference(scale=value.get("scale"))
        raise serializers.ValidationError(gettext('Expected true, false or {"scale": number}.'))

    def parse(self) -> tuple[JobRequest, RetouchUploads]:
        data = self.validated_data

        def read(name):
            upload = data.get(name)
            return upload.read() if upload is not None else None

        defaults = RetouchOptions()
        options = RetouchOptions(
            image_id=data["image_id"],
            rect=data["rect"],
            padding=data["padding"],
            work_size=data["work_size"],
            strength=data["strength"],
            mask_blur=data["mask_blur"],
            opacity=data["opacity"],
            noise_multiplier=data["noise_multiplier"],
            color_match=defaults.color_match if data["color_match"] is None else data["color_match"],
            invert_mask=bool(data["invert_mask"]),
            masked_content=data["masked_content"],
            sampler=data["sampler"],
            controls=data["controls"] or (),
            reference=data["reference"],
            frame_range=data["range"],
            vary_seed=bool(data["vary_seed"]),
            fixed_rect=defaults.fixed_rect if data["fixed_rect"] is None else data["fixed_rect"],
        )
        request = JobRequest(
            kind=data["kind"],
            prompt=data["prompt"],
            negative_prompt=data["negative_prompt"],
            emotion=data["emotion"],
            steps=data["steps"],
            guidance=data["guidance"],
            seed=data["seed"],
            count=data["count"],
            kind_options=options,
        )
        uploads = RetouchUploads(
            image=read("image"),
            mask=read("mask"),
            reference=read("reference_image"),
            controls={number: content for number in range(MAX_CONTROLS) if (content := read(f"control_{number}"))},
            frames=read("frames"),
            masks=read("masks"),
        )
        return request, uploads


class SourceSerializer(serializers.Serializer):
    """A picture for the edge detector or the tagger: an upload or a garden image."""

    image = serializers.FileField(required=False)
    image_id = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if (attrs.get("image") is None) == (attrs.get("image_id") is None):
            raise serializers.ValidationError({"image": gettext("Give an image upload or an image_id (one of them).")})
        return attrs


class EdgesSerializer(SourceSerializer):
    detector = serializers.ChoiceField(choices=edges.DETECTORS, default="lineart")
    low = serializers.FloatField(required=False, default=100.0, min_value=0, max_value=1020)
    high = serializers.FloatField(required=False, default=200.0, min_value=0, max_value=1020)
    resolution = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=64, max_value=4096)


class TagsSerializer(SourceSerializer):
    threshold = serializers.FloatField(required=False, default=0.35, min_value=0.0, max_value=1.0)


class UpscaleJobSerializer(serializers.Serializer):
    """An upscale job's form (retouch.upscale): the picture, the upscaler and the size."""

    kind = serializers.ChoiceField(choices=[(UPSCALE, UPSCALE_LABEL)], help_text="upscale")
    image = serializers.FileField(required=False, help_text="The picture: PNG, JPEG or WebP")
    upscaler = serializers.CharField(required=False, allow_blank=True, default="", help_text="A library upscaler, Lanczos or Nearest")
    scale = serializers.FloatField(required=False, allow_null=True, default=None, help_text="Times the picture's size (default 2)")
    width = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Or a size: width and height")
    height = serializers.IntegerField(required=False, allow_null=True, default=None)
    emotion = serializers.CharField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["emotion"])

    def parse(self) -> tuple[JobRequest, bytes | None]:
        data = self.validated_data
        options = UpscaleOptions(upscaler=data["upscaler"], scale=data["scale"], width=data["width"], height=data["height"])
        upload = data.get("image")
        return JobRequest(kind=data["kind"], emotion=data["emotion"], kind_options=options), upload.read() if upload is not None else None
