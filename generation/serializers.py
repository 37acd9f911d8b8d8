"""Validation and output shapes for the generation APIs (no business logic: services decide)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from garden import keys
from generation import backends
from generation.models import GenerationJob
from generation.services import SEED_LIMIT


def _validate_size(value: int, *, name: str, maximum: int) -> int:
    low = settings.GARDEN_MIN_SIZE
    if value % 8 or not low <= value <= maximum:
        raise serializers.ValidationError(f"{name} must be a multiple of 8 between {low} and {maximum}.")
    return value


class SizeMixin:
    def validate_width(self, value):
        return value if value is None else _validate_size(value, name="width", maximum=settings.GARDEN_MAX_WIDTH)

    def validate_height(self, value):
        return value if value is None else _validate_size(value, name="height", maximum=settings.GARDEN_MAX_HEIGHT)

    def validate_steps(self, value):
        if value is not None and not 1 <= value <= settings.GARDEN_MAX_STEPS:
            raise serializers.ValidationError(f"steps must be between 1 and {settings.GARDEN_MAX_STEPS}.")
        return value

    def validate_count(self, value):
        if not 1 <= value <= settings.GARDEN_MAX_COUNT:
            raise serializers.ValidationError(f"count must be between 1 and {settings.GARDEN_MAX_COUNT}.")
        return value


class JobCreateSerializer(SizeMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=GenerationJob.Kind.choices, default=GenerationJob.Kind.IMAGES)
    prompt = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    emotion = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=120,
        help_text="Key folder: an emotion or search key (`calm/spring,cloudy,day`). Required without a prompt.",
    )
    emotion_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    favorite = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    others = serializers.CharField(required=False, allow_null=True, default=None, max_length=2000)
    negative_prompt = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    width = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Bulk: the landscape width (default 1280)")
    height = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Bulk: the landscape height (default 800)")
    steps = serializers.IntegerField(required=False, allow_null=True, default=None)
    guidance = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0, max_value=30)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)
    count = serializers.IntegerField(required=False, default=1)
    backend = serializers.ChoiceField(choices=backends.BACKENDS, required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if not attrs["prompt"].strip() and not attrs["emotion"].strip():
            raise serializers.ValidationError({"emotion": "Give a prompt, or an emotion to compose the prompt from."})
        if attrs["emotion"]:
            try:
                keys.parse_search_key(attrs["emotion"])
            except keys.InvalidKey as exc:
                raise serializers.ValidationError({"emotion": str(exc)}) from None
        if attrs["kind"] == GenerationJob.Kind.BULK:
            # The portrait of each pair swaps width and height: both orientations must fit.
            width, height = attrs["width"] or 1280, attrs["height"] or 800
            if height > settings.GARDEN_MAX_WIDTH or width > settings.GARDEN_MAX_HEIGHT:
                raise serializers.ValidationError("Bulk jobs also make the portrait (height x width): it must fit GARDEN_MAX_WIDTH/HEIGHT.")
        return attrs


class Text2ImageSerializer(SizeMixin, serializers.Serializer):
    """The legacy body: {"text", "width", "height"}; emotion/count/steps/seed are optional additions."""

    text = serializers.CharField(max_length=2000, trim_whitespace=True)
    width = serializers.IntegerField(required=False, default=768)
    height = serializers.IntegerField(required=False, default=512)
    emotion = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    count = serializers.IntegerField(required=False, default=1)
    steps = serializers.IntegerField(required=False, allow_null=True, default=None)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)

    def validate_emotion(self, value):
        if value:
            try:
                keys.parse_search_key(value)
            except keys.InvalidKey as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


class JobImageSerializer(serializers.Serializer):
    key = serializers.CharField()
    url = serializers.URLField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    orientation = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)


class JobSerializer(serializers.ModelSerializer):
    """A job as the API shows it; ``queue_position`` and ``images`` come from selectors via context."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.FloatField(read_only=True)
    queue_position = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "status",
            "progress",
            "steps_done",
            "steps_total",
            "images_done",
            "images_total",
            "queue_position",
            "error",
            "kind",
            "prompt",
            "negative_prompt",
            "emotion",
            "favorite",
            "width",
            "height",
            "steps",
            "guidance",
            "seed",
            "count",
            "backend",
            "model_id",
            "scheduler",
            "attempts",
            "timings",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "images",
            "status_url",
        ]
        read_only_fields = fields

    def get_queue_position(self, job) -> int | None:
        from generation.selectors import job_queue_position

        return job_queue_position(job)

    @extend_schema_field(JobImageSerializer(many=True))
    def get_images(self, job):
        from generation.selectors import job_result

        return job_result(job, request=self.context.get("request"))

    def get_status_url(self, job) -> str:
        from django.urls import reverse

        path = reverse("generation-job", kwargs={"job_id": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path
