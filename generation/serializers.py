"""Validation and output shapes for the generation APIs (no business logic: services decide)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import NumberField, TextField, WholeNumberField
from garden.keys import FAVORITE_PATTERN, KIOSK_FAVORITE_PATTERN, KIOSK_SEARCH_KEY_PATTERN
from garden.models import Emotion, Image
from garden.serializers import SearchKeyField
from generation import backends, kinds, progress, selectors, served_names
from generation.models import GenerationJob
from generation.requests import CLIP_SKIP_RANGE, GUIDANCE_RANGE, SEED_LIMIT, TEXT_LIMITS, JobRequest


def bound_numbers(fields) -> None:
    """Give the number fields JobRequest's bounds (settings, read now), so the schema states them.

    JobRequest still decides; this makes the OpenAPI schema say what it will accept.
    """
    limits = {
        "width": (settings.GARDEN_MIN_SIZE, settings.GARDEN_MAX_WIDTH),
        "height": (settings.GARDEN_MIN_SIZE, settings.GARDEN_MAX_HEIGHT),
        "hires_first_width": (settings.GARDEN_MIN_SIZE, settings.GARDEN_MAX_WIDTH),
        "hires_first_height": (settings.GARDEN_MIN_SIZE, settings.GARDEN_MAX_HEIGHT),
        "steps": (1, settings.GARDEN_MAX_STEPS),
        "hires_steps": (1, settings.GARDEN_MAX_STEPS),
        "count": (1, settings.GARDEN_MAX_COUNT),
        "guidance": GUIDANCE_RANGE,
    }
    for name, (low, high) in limits.items():
        if name in fields:
            field = fields[name]
            field.min_value, field.max_value = low, high
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]


class SizeField(WholeNumberField):
    """An image side in pixels: a multiple of 8 (the VAE's factor), bounds from bound_numbers()."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value % 8:
            raise serializers.ValidationError(gettext("Must be a multiple of 8."))
        return value


class _SizeSchema(OpenApiSerializerFieldExtension):
    target_class = SizeField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = {"type": "integer", "multipleOf": 8, "minimum": field.min_value, "maximum": field.max_value}
        if field.allow_null:
            schema["nullable"] = True
        if field.help_text:
            schema["description"] = str(field.help_text)
        return schema


class JobSearchKeyField(SearchKeyField):
    """A job's key folder. Parsed like any search key; JobRequest then allows only the favorites
    kiosks send (or GARDEN_EXTRA_FAVORITES), and the schema states the kiosks' ones."""


class KioskFavoriteField(TextField):
    """A job's favorite: ``season,weather,time`` as kiosks send it (JobRequest decides and names them)."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "validators", [RegexValidator(FAVORITE_PATTERN, "Use lower-case words separated by commas, e.g. spring,cloudy,day.")]
        )
        super().__init__(**kwargs)


class _JobSearchKeySchema(OpenApiSerializerFieldExtension):
    target_class = JobSearchKeyField
    priority = 2  # before garden's SearchKeyField extension

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        return {"type": "string", "maxLength": field.max_length, "pattern": KIOSK_SEARCH_KEY_PATTERN, "description": str(field.help_text)}


class _KioskFavoriteSchema(OpenApiSerializerFieldExtension):
    target_class = KioskFavoriteField
    priority = 2  # before config.fields' TextField extension

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["pattern"] = KIOSK_FAVORITE_PATTERN
        return schema


class KindField(serializers.ChoiceField):
    """A job kind: generation's own, and those apps above it register (read when the serializer is made)."""

    def __init__(self, **kwargs):
        super().__init__(choices=kinds.choices(), **kwargs)


class KindAnswerField(serializers.Field):
    """What a registered kind answers about its jobs under its ``answer_field`` (``generation.kinds``);
    null for jobs of every other kind, so every job's answer has the same keys."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return kinds.answer(value, self.field_name)


class _KindAnswerSchema(OpenApiSerializerFieldExtension):
    target_class = KindAnswerField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "object", "nullable": True, "readOnly": True}


class JobLoraSerializer(serializers.Serializer):
    """One LoRA of the model library (docs/models.md) and its weight."""

    name = TextField(max_length=200)
    weight = NumberField(required=False, default=1.0)


class JobCreateSerializer(serializers.Serializer):
    """Types only: every bound and default is JobRequest's (its errors are 400s naming the field)."""

    kind = KindField(default=GenerationJob.Kind.IMAGES)
    prompt = TextField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["prompt"])
    emotion = JobSearchKeyField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMITS["emotion"],
        help_text="Key folder: an emotion or search key (`calm/spring,cloudy,day`: season,weather,time as kiosks send it). "
        "Required without a prompt.",
    )
    emotion_text = TextField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["emotion_text"])
    favorite = KioskFavoriteField(
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMITS["favorite"],
        help_text="season,weather,time as kiosks send it (e.g. spring,cloudy,day); empty: none (Any).",
    )
    others = TextField(required=False, allow_blank=True, allow_null=True, default=None, max_length=TEXT_LIMITS["others"])
    negative_prompt = TextField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["negative_prompt"])
    width = SizeField(required=False, allow_null=True, default=None, help_text="Bulk: the landscape width (default 1280)")
    height = SizeField(required=False, allow_null=True, default=None, help_text="Bulk: the landscape height (default 800)")
    steps = WholeNumberField(required=False, allow_null=True, default=None)
    guidance = NumberField(required=False, allow_null=True, default=None)
    seed = WholeNumberField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)
    count = WholeNumberField(required=False, default=1)
    backend = serializers.ChoiceField(choices=backends.BACKENDS, required=False, allow_null=True, default=None)
    model = TextField(
        required=False, allow_blank=True, allow_null=True, default=None, max_length=300,
        help_text="A model of the library by name (diffusers backend); empty: the library's default.",
    )  # fmt: skip
    loras = JobLoraSerializer(
        many=True, required=False, default=list, help_text="LoRAs of the library; `<lora:name:weight>` in the prompt adds one."
    )
    sampler = serializers.ChoiceField(choices=list(backends.SAMPLERS), required=False, allow_blank=True, default="")
    clip_skip = WholeNumberField(required=False, allow_null=True, default=None, min_value=CLIP_SKIP_RANGE[0], max_value=CLIP_SKIP_RANGE[1])
    subseed = WholeNumberField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)
    subseed_strength = NumberField(required=False, default=0.0, min_value=0.0, max_value=1.0)
    vae = TextField(
        required=False, allow_blank=True, allow_null=True, default=None, max_length=300,
        help_text="A VAE of the library by name; empty or `Automatic`: the model's default VAE, else its own; `None`: its own.",
    )  # fmt: skip
    hires_fix = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="Paint at the model's native size, upscale, repaint at width x height (null: on for bulk jobs larger "
        "than their model's native size while GARDEN_HIRES_FIX).",
    )  # fmt: skip
    hires_upscaler = TextField(
        required=False, allow_blank=True, default="", max_length=200,
        help_text="latent (also latent-antialiased, latent-bicubic, latent-bicubic-antialiased, latent-nearest, "
        "latent-nearest-exact), lanczos, nearest, or an upscaler of the library; empty: GARDEN_HIRES_UPSCALER.",
    )  # fmt: skip
    hires_steps = WholeNumberField(required=False, allow_null=True, default=None, help_text="The second pass's steps (default: steps)")
    hires_denoising = NumberField(
        required=False, allow_null=True, default=None, help_text="The second pass's denoising, above 0 to 1 (GARDEN_HIRES_DENOISING)"
    )
    hires_first_width = SizeField(required=False, allow_null=True, default=None, help_text="The first pass's width (default: native area)")
    hires_first_height = SizeField(required=False, allow_null=True, default=None, help_text="The first pass's height")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_numbers(self.fields)

    def job_request(self) -> JobRequest:
        data = dict(self.validated_data)
        data["loras"] = tuple((lora["name"], lora["weight"]) for lora in data.get("loras", ()))
        return JobRequest(**data)


class _JobCreateSchema(OpenApiSerializerExtension):
    """A job needs a prompt or an emotion to compose one from: say so in the schema (anyOf)."""

    target_class = JobCreateSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["anyOf"] = [
            {"required": ["prompt"], "properties": {"prompt": {"pattern": r"\S"}}},
            {"required": ["emotion"], "properties": {"emotion": {"minLength": 1, "pattern": KIOSK_SEARCH_KEY_PATTERN}}},
        ]
        return schema


class JobFilterSerializer(serializers.Serializer):
    """The job list's query parameters; unknown values are a 400 (not silently "no match")."""

    status = serializers.ChoiceField(choices=GenerationJob.Status.choices, required=False)
    kind = KindField(required=False)
    emotion = serializers.ChoiceField(choices=Emotion.choices, required=False)
    backend = serializers.ChoiceField(choices=backends.BACKENDS, required=False)
    mine = serializers.BooleanField(required=False, default=False, help_text="Only my jobs (staff see everyone's by default)")

    def validate(self, attrs):
        # DRF skips an optional query parameter sent empty (?status=); the schema does not allow it.
        empty = [name for name in self.fields if name in self.initial_data and self.initial_data[name] == ""]
        if empty:
            raise serializers.ValidationError({name: "Leave it out, or give one of the listed values." for name in empty})
        return attrs


class Text2ImageSerializer(serializers.Serializer):
    """The legacy body: {"text", "width", "height"}; emotion/count/steps/seed are optional additions."""

    text = TextField(max_length=TEXT_LIMITS["prompt"], validators=[RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$", "The text is empty.")])
    width = SizeField(required=False, allow_null=True, default=None, help_text="Default 768")
    height = SizeField(required=False, allow_null=True, default=None, help_text="Default 512")
    emotion = JobSearchKeyField(required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["emotion"])
    count = WholeNumberField(required=False, default=1)
    steps = WholeNumberField(required=False, allow_null=True, default=None)
    seed = WholeNumberField(required=False, allow_null=True, default=None, min_value=0, max_value=SEED_LIMIT - 1)
    model = TextField(required=False, allow_blank=True, allow_null=True, default=None, max_length=300, help_text="A model of the library")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_numbers(self.fields)

    def job_request(self) -> JobRequest:
        data = dict(self.validated_data)
        # The legacy page's text is the whole prompt: no style words are added.
        return JobRequest(prompt=data.pop("text"), others="", **data)


class SafetyVerdictSerializer(serializers.Serializer):
    """The image check's verdict on one picture (safety.images.Verdict, docs/safety.md)."""

    verdict = serializers.ChoiceField(choices=Image.Safety.choices)
    score = serializers.FloatField(allow_null=True, help_text="open_nsfw's nudity score, 0…1 (null: not checked)")
    checker = serializers.CharField(help_text="The checker(s) that ran, with versions")
    reason = serializers.CharField(allow_blank=True, help_text="Why it was flagged or left unchecked")


class JobImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    url = serializers.URLField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    orientation = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)
    safety = SafetyVerdictSerializer()


class JobSerializer(serializers.ModelSerializer):
    """A job as the API shows it; ``queue_position`` and ``images`` come from selectors via context."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.FloatField(read_only=True)
    queue_position = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    kind = KindField(read_only=True)
    vae = serializers.SerializerMethodField(help_text="The library VAE it paints with (null: the model's own)")
    origin = serializers.SerializerMethodField(help_text="The API a client's job came through: a1111 or comfy (null: the garden's own)")
    stage = serializers.SerializerMethodField(
        help_text="queued, loading (the model), painting, finishing (decode, check, store), or the final status"
    )
    stage_text = serializers.SerializerMethodField(help_text="The stage in words, naming the model it loads")
    estimate_seconds = serializers.SerializerMethodField(
        help_text=(
            "Seconds left at the worker's recent speed, the model's load and (queued) the jobs ahead included; "
            "0: any moment now; null: finished or unknown"
        ),
    )
    model_id = serializers.SerializerMethodField(help_text="The model it painted with: a hub id or a file's name, never its path")
    hires = serializers.SerializerMethodField(
        help_text="The hires fix (null: one pass): upscaler, steps, denoising, and the first pass's native size or first size"
    )

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "status",
            "stage",
            "stage_text",
            "estimate_seconds",
            "progress",
            "steps_done",
            "steps_total",
            "images_done",
            "images_total",
            "queue_position",
            "error",
            "notice",
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
            "model",
            "loras",
            "vae",
            "hires",
            "origin",
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
        ]  # then each registered kind's answer (KindAnswerField)
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        for name in kinds.answer_fields():
            fields[name] = KindAnswerField()
        return fields

    def get_stage(self, job) -> str:
        return progress.stage(job)

    def get_stage_text(self, job) -> str:
        return progress.stage_text(job)

    def get_estimate_seconds(self, job) -> int | None:
        return progress.estimate_seconds(job, self._estimates())

    def _estimates(self) -> progress.Estimates:
        """One per answer (a list's items share the context): each queue's line and each worker's pace read once."""
        return self.context.setdefault("estimates", progress.Estimates())

    def get_model_id(self, job) -> str:
        return served_names.model_id(job.model_id)

    def get_vae(self, job) -> str | None:
        return (job.options or {}).get("vae") or None

    @extend_schema_field({"type": "object", "nullable": True})
    def get_hires(self, job):
        return (job.options or {}).get("hires") or None

    def get_origin(self, job) -> str | None:
        return (job.options or {}).get("origin") or None

    def get_queue_position(self, job) -> int | None:
        return self._estimates().position(job)

    @extend_schema_field(JobImageSerializer(many=True))
    def get_images(self, job):
        return selectors.job_result(job, request=self.context.get("request"))

    def get_status_url(self, job) -> str:
        path = reverse("generation-job", kwargs={"job_id": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path
