"""What a generation job asks for: every parameter, its default, its bound and its validation.

``JobRequest`` is the one description of a job's parameters. The API serializers, the admin's
bulk form, ``manage.py generate`` and the legacy ``/text2image`` only parse their input into a
JobRequest; ``generation.services.jobs.create_job`` takes one, and ``JobRequest.validate()``
decides what is allowed (compare paperless-ngx's ``ConsumableDocument``). Bounds that operators
tune are settings (``GARDEN_MAX_WIDTH`` …), read when a request is validated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields

from django.conf import settings

from config.errors import DomainError
from garden import keys
from generation import backends
from generation.models import GenerationJob
from generation.retouch.options import RetouchOptions

# The original's sizes (docs/contracts.md, "Generation defaults"): bulk jobs paint a 1280x800
# landscape and its 800x1280 portrait twin per index; one-off images default to 768x512.
LANDSCAPE_SIZE = (1280, 800)
PORTRAIT_SIZE = (LANDSCAPE_SIZE[1], LANDSCAPE_SIZE[0])
IMAGES_SIZE = (768, 512)
# The resolutions the original offered (landscape; bulk jobs add each one's portrait).
RESOLUTIONS = ((768, 512), (1024, 600), (1280, 800))
DEFAULT_OTHERS = "flowers, fantasy, concept art, trending on artstation, highly detailed, intricate, sharp focus, digital art"
SEED_LIMIT = 2**32  # torch seeds are 64-bit; 32 bits keep them readable and portable to other tools
GUIDANCE_RANGE = (0.0, 30.0)
# Longest text accepted per field (characters).
TEXT_LIMITS = {"prompt": 2000, "negative_prompt": 2000, "others": 2000, "emotion_text": 200, "emotion": 120, "favorite": 100}


class JobParameterError(DomainError):
    """Parameters a job cannot run with; ``fields`` names each bad one (a 400 for API clients)."""


def compose_prompt(*, emotion_text: str, favorite: str = "", others: str | None = None) -> str:
    """`emotionText[, favorite], others` (the original dropped the favorite by a bug; we keep it)."""
    others = DEFAULT_OTHERS if others is None else others
    return ", ".join(part.strip() for part in (emotion_text, favorite, others) if part and part.strip())


@dataclass(frozen=True, kw_only=True)
class ValidJob:
    """A validated JobRequest: every default filled in, every value in bounds (what a job row stores)."""

    kind: str
    prompt: str
    emotion: str
    favorite: str
    emotion_text: str
    others: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    count: int
    backend: str
    retouch: dict = field(default_factory=dict)  # retouch kinds: generation.retouch.options


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """A job's parameters as asked; ``None`` means "the default". ``validate()`` fills the defaults.

    ``emotion`` is the key folder: an emotion or a whole search key (``calm/spring,cloudy,day``).
    The favorite (in the search key or ``favorite``) must be one kiosks send — ``season,weather,time``
    (garden.keys.FAVORITE_PARTS) or none — or one of GARDEN_EXTRA_FAVORITES, so that new images land
    where kiosks look; retouch kinds keep their source's folder, whatever its favorite.
    Without ``prompt``, the prompt is composed from ``emotion_text`` (default: the emotion), the
    favorite and ``others`` (default: the original's style words). A prompt without an emotion goes
    to the ``GARDEN_TEXT2IMAGE_EMOTION`` folder.

    Retouch kinds carry ``retouch`` (their options, and the source's geometry read by the service);
    their prompt is used as given (it may be empty), and width and height are the source's.
    """

    kind: str = GenerationJob.Kind.IMAGES
    prompt: str = ""
    emotion: str = ""
    favorite: str = ""
    emotion_text: str = ""
    others: str | None = None
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    count: int = 1
    backend: str | None = None
    retouch: RetouchOptions | None = None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    def validate(self) -> ValidJob:
        """The request with every default filled in, or JobParameterError naming every bad field."""
        errors: dict[str, str] = {}
        self._check_texts(errors)
        if errors:  # the checks below need text where text is expected
            raise JobParameterError(fields=errors)
        if self.kind in GenerationJob.RETOUCH_KINDS:
            return self._validate_retouch(errors)
        if self.retouch is not None:
            errors["retouch"] = "Retouch options are for retouch jobs."
        folder = self._folder(errors)
        numbers = self._numbers(errors)
        if errors:
            raise JobParameterError(fields=errors)
        return ValidJob(kind=self.kind, emotion_text=self.emotion_text, count=self.count, **folder, **numbers)

    def _validate_retouch(self, errors: dict[str, str]) -> ValidJob:
        try:
            emotion, favorite = keys.parse_search_key(self.emotion.strip() or settings.GARDEN_TEXT2IMAGE_EMOTION)
        except keys.InvalidKey as exc:
            errors["emotion"] = exc.message
            emotion, favorite = "", ""
        steps = settings.GARDEN_DEFAULT_STEPS if self.steps is None else self.steps
        _check_int("steps", steps, 1, settings.GARDEN_MAX_STEPS, errors, setting="GARDEN_MAX_STEPS")
        batch = self.kind == GenerationJob.Kind.RETOUCH_BATCH
        _check_int("count", self.count, 1, 1 if batch else settings.GARDEN_MAX_COUNT, errors, setting="" if batch else "GARDEN_MAX_COUNT")
        seed = secrets.randbelow(SEED_LIMIT) if self.seed is None else self.seed
        _check_int("seed", seed, 0, SEED_LIMIT - 1, errors)
        guidance = settings.GARDEN_DEFAULT_GUIDANCE if self.guidance is None else self.guidance
        if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not GUIDANCE_RANGE[0] <= guidance <= GUIDANCE_RANGE[1]:
            errors["guidance"] = f"guidance must be a number between {GUIDANCE_RANGE[0]:g} and {GUIDANCE_RANGE[1]:g}."
        if self.backend not in (None, backends.DIFFUSERS):
            errors["backend"] = "Retouching needs the diffusers backend."
        options = self.retouch or RetouchOptions()
        retouch = options.validate(errors, steps=steps if isinstance(steps, int) else 1, batch=batch)
        if errors:
            raise JobParameterError(fields=errors)
        width, height = retouch["source_size"]
        return ValidJob(
            kind=self.kind,
            prompt=self.prompt.strip(),
            emotion=emotion,
            favorite=favorite,
            emotion_text="",
            others="",
            negative_prompt=self.negative_prompt.strip(),
            width=width,
            height=height,
            steps=steps,
            guidance=float(guidance),
            seed=seed,
            count=self.count,
            backend=backends.DIFFUSERS,
            retouch=retouch,
        )

    # --- the steps of validate() -----------------------------------------------------------------

    def _check_texts(self, errors: dict[str, str]) -> None:
        if self.kind not in GenerationJob.Kind.values:
            errors["kind"] = f"kind must be one of {', '.join(GenerationJob.Kind.values)}."
        for name, limit in TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is None and name == "others":
                continue
            if not isinstance(value, str):
                errors[name] = f"{name} must be text."
            elif len(value) > limit:
                errors[name] = f"{name} must be at most {limit} characters."

    def _folder(self, errors: dict[str, str]) -> dict:
        """Emotion, favorite and the prompt composed from them."""
        prompt, emotion = self.prompt.strip(), self.emotion.strip()
        if not prompt and not emotion:
            errors["emotion"] = "Give a prompt, or an emotion to compose the prompt from."
            return {}
        try:
            emotion, favorite = keys.parse_search_key(emotion or settings.GARDEN_TEXT2IMAGE_EMOTION)
        except keys.InvalidKey as exc:
            errors["emotion"] = exc.message
            return {}
        if self.favorite.strip():  # an explicit favorite wins over one inside the search key
            try:
                _, favorite = keys.parse_search_key(f"{emotion}/{self.favorite.strip()}")
            except keys.InvalidKey as exc:
                errors["favorite"] = exc.message
                return {}
        kiosk_favorite = _kiosk_favorite(favorite, field="favorite" if self.favorite.strip() else "emotion", errors=errors)
        if kiosk_favorite is None:
            return {}
        favorite = kiosk_favorite
        others = DEFAULT_OTHERS if self.others is None else self.others
        if not prompt:
            prompt = compose_prompt(emotion_text=self.emotion_text or emotion, favorite=favorite, others=others)
        return {
            "prompt": prompt,
            "emotion": emotion,
            "favorite": favorite,
            "others": others,
            "negative_prompt": self.negative_prompt.strip(),
        }

    def _numbers(self, errors: dict[str, str]) -> dict:
        """Sizes, steps, guidance, seed and backend, defaults filled in."""
        default_width, default_height = LANDSCAPE_SIZE if self.kind == GenerationJob.Kind.BULK else IMAGES_SIZE
        width = default_width if self.width is None else self.width
        height = default_height if self.height is None else self.height
        _check_size("width", width, settings.GARDEN_MAX_WIDTH, errors)
        _check_size("height", height, settings.GARDEN_MAX_HEIGHT, errors)
        sizes_ok = "width" not in errors and "height" not in errors
        if self.kind == GenerationJob.Kind.BULK and sizes_ok and not _portrait_fits(width, height):
            errors["height"] = "Bulk jobs also make the portrait (height x width): it must fit GARDEN_MAX_WIDTH/GARDEN_MAX_HEIGHT."
        steps = settings.GARDEN_DEFAULT_STEPS if self.steps is None else self.steps
        _check_int("steps", steps, 1, settings.GARDEN_MAX_STEPS, errors, setting="GARDEN_MAX_STEPS")
        _check_int("count", self.count, 1, settings.GARDEN_MAX_COUNT, errors, setting="GARDEN_MAX_COUNT")
        seed = secrets.randbelow(SEED_LIMIT) if self.seed is None else self.seed
        _check_int("seed", seed, 0, SEED_LIMIT - 1, errors)
        guidance = settings.GARDEN_DEFAULT_GUIDANCE if self.guidance is None else self.guidance
        low, high = GUIDANCE_RANGE
        if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not low <= guidance <= high:
            errors["guidance"] = f"guidance must be a number between {low:g} and {high:g}."
        backend = self.backend or settings.GARDEN_GENERATOR_BACKEND
        if backend not in backends.BACKENDS:
            errors["backend"] = f"backend must be one of {', '.join(backends.BACKENDS)}."
        return {"width": width, "height": height, "steps": steps, "seed": seed, "guidance": float(guidance), "backend": backend}


def _kiosk_favorite(favorite: str, *, field: str, errors: dict[str, str]) -> str | None:
    """New images go only where kiosks look: a kiosk favorite (normalised), none, or one of
    GARDEN_EXTRA_FAVORITES; else None with the error (naming the allowed values) under ``field``."""
    if favorite in {extra.strip().lower() for extra in settings.GARDEN_EXTRA_FAVORITES}:
        return favorite
    try:
        return keys.kiosk_favorite(favorite)
    except keys.InvalidKey as exc:
        extra = ", ".join(settings.GARDEN_EXTRA_FAVORITES)
        errors[field] = exc.message + (f" Also allowed here (GARDEN_EXTRA_FAVORITES): {extra}." if extra else "")
        return None


def _check_int(name: str, value: object, low: int, high: int, errors: dict[str, str], *, setting: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = f"{name} must be a whole number between {low} and {high}{f' ({setting})' if setting else ''}; got {value!r}."


def _portrait_fits(width: int, height: int) -> bool:
    """The portrait of each bulk pair swaps width and height: it must fit the limits too."""
    return height <= settings.GARDEN_MAX_WIDTH and width <= settings.GARDEN_MAX_HEIGHT


def _check_size(name: str, value: object, high: int, errors: dict[str, str]) -> None:
    low = settings.GARDEN_MIN_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value % 8 or not low <= value <= high:
        errors[name] = f"{name} must be a multiple of 8 between {low} and {high} (GARDEN_MAX_{name.upper()}); got {value!r}."
