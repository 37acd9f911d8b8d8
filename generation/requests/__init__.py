"""What a generation job asks for: every parameter, its default, its bound and its validation.

``JobRequest`` is the one description of a job's parameters. The API serializers, the admin's
bulk form, ``manage.py generate`` and the legacy ``/text2image`` only parse their input into a
JobRequest; ``generation.services.jobs.create_job`` takes one, and ``JobRequest.validate()``
decides what is allowed (compare paperless-ngx's ``ConsumableDocument``). Bounds that operators
tune are settings (``GARDEN_MAX_WIDTH`` …), read when a request is validated.

The package holds JobRequest here and its parts beside it: ``checks`` (the bounds every parser
shares), ``hires`` (the hires fix), ``model_files`` (the library files a request names: VAE, the
LoRAs' families, the hashes a picture records), ``lora_tags`` (A1111's ``<lora:…>`` syntax). A prompt's length as CLIP counts it is
generation.clip_tokens (the backends read it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from django.conf import settings
from django.utils.translation import gettext

from config import chance
from config.errors import DomainError
from garden import keys
from generation import backends, init_image, kinds, lineage, model_families
from generation.models import GenerationJob
from generation.requests.checks import between, check_int, check_size, kiosk_favorite, one_of, portrait_fits
from generation.requests.hires import hires_options
from generation.requests.lora_tags import LoraSyntaxError, extract_loras
from generation.requests.model_files import LORA_FAMILIES, check_lora_families, identities, vae_options
from library import selectors as library
from library.models import LibraryEntry
from safety import prompts

# Names other apps import from here (they live in this package's modules).
__all__ = ["LORA_FAMILIES", "JobParameterError", "JobRequest", "ValidJob", "between", "check_int", "compose_prompt", "identities"]

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
SCREENED_TEXTS = ("prompt", "emotion_text", "favorite", "others")
LORA_WEIGHT_RANGE = (-5.0, 5.0)
CLIP_SKIP_RANGE = (1, 12)
MAX_LORAS = 8
# Request origins other than the garden's own (options["origin"], then each picture's parameters):
# the A1111 API's and the ComfyUI door's pictures stay out of the curators' review pool unless GARDEN_A1111_REVIEW_POOL.
ORIGINS = ("a1111", "comfy")


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
    kind_options: dict = field(default_factory=dict)  # a registered kind's own options, as its app validated them
    model: str = ""  # a library pipeline's name; "" = GARDEN_DIFFUSION_MODEL (no library)
    loras: list = field(default_factory=list)  # [{"name": ..., "weight": ...}]
    options: dict = field(default_factory=dict)  # sampler, clip_skip, subseed(_strength), recipes, lineage (those set)


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """A job's parameters as asked; ``None`` means "the default". ``validate()`` fills the defaults.

    ``emotion`` is the key folder: an emotion or a whole search key (``calm/spring,cloudy,day``).
    The favorite (in the search key or ``favorite``) must be one kiosks send — ``season,weather,time``
    (garden.keys.FAVORITE_PARTS) or none — or one of GARDEN_EXTRA_FAVORITES, so that new images land
    where kiosks look. Without ``prompt``, the prompt is composed from ``emotion_text`` (default:
    the emotion), the favorite and ``others`` (default: the original's style words). A prompt
    without an emotion goes to the ``GARDEN_TEXT2IMAGE_EMOTION`` folder.

    A kind that an app above registers (``generation.kinds``) is validated by that app's hook,
    after the texts are checked and screened here; ``kind_options`` carries its own options.
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
    kind_options: object | None = None  # a registered kind's own options (its validate hook reads them)
    # The model library (docs/models.md): a library pipeline's name (or A1111 title "name [hash]"),
    # LoRAs as (name, weight), and sampling options; None / empty means "the default".
    model: str | None = None
    loras: tuple[tuple[str, float], ...] = ()
    sampler: str = ""
    eta: float | None = None  # the DDIM step's noise (backends.ETA_SAMPLERS); None: the scheduler's own (0)
    clip_skip: int | None = None
    subseed: int | None = None
    subseed_strength: float = 0.0
    # Bred jobs (generation.lineage): a procedural recipe and a lineage per index.
    recipes: tuple[dict, ...] = ()
    lineage: tuple[dict, ...] = ()
    # img2img (generation.init_image): a garden image's id to start from, and how much of it is repainted.
    init_image: int | None = None
    denoising_strength: float | None = None
    # Where the request came from when not the garden's own forms (ORIGINS): its pictures say so.
    origin: str = ""
    # A VAE of the library (None, "" or "Automatic": the model's default_vae, else its own; "None": its
    # own) and the hires fix (generation.backends.hires; None: on for bulk jobs larger than their model's
    # native size while GARDEN_HIRES_FIX, off otherwise), its upscaler, second-pass steps and denoising,
    # and its first pass's size (None: the model's native area in the picture's aspect).
    vae: str | None = None
    hires_fix: bool | None = None
    hires_upscaler: str = ""
    hires_steps: int | None = None
    hires_denoising: float | None = None
    hires_first_width: int | None = None
    hires_first_height: int | None = None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    def validate(self) -> ValidJob:
        """The request with every default filled in, or JobParameterError naming every bad field."""
        errors: dict[str, str] = {}
        self._check_texts(errors)
        if errors:  # the checks below need text where text is expected
            raise JobParameterError(fields=errors)
        # Every text that is painted, before anything else is looked at (safety.prompts; the
        # negative prompt is not screened: "nsfw, nude" there keeps pictures safe).
        prompts.screen_fields({name: getattr(self, name) or "" for name in SCREENED_TEXTS}, errors)
        if errors:
            raise JobParameterError(fields=errors)
        kind = kinds.get(self.kind)
        if kind is not None:
            return kind.validate(self, errors)
        if self.kind_options is not None:
            raise JobParameterError(fields={"kind": f"{self.kind} jobs take no kind options."})
        folder = self._folder(errors)
        backend = self.backend or settings.GARDEN_GENERATOR_BACKEND
        loras = self._loras(folder, errors)
        entry, model = self._model(backend, errors)
        if loras and backend != backends.DIFFUSERS:
            errors["loras"] = gettext("LoRAs are for the diffusers backend; this job uses %(backend)s.") % {"backend": backend}
        elif loras and entry is not None and "loras" not in errors:
            check_lora_families(entry, [name for name, _ in loras], errors)
        options = self._options(errors)
        options |= lineage.bred_options(recipes=self.recipes, lineage=self.lineage, count=self.count, backend=backend, errors=errors)
        numbers = self._numbers(errors, entry=entry)
        options |= init_image.init_options(
            init_image=self.init_image,
            denoising_strength=self.denoising_strength,
            backend=backend,
            steps=numbers.get("steps"),
            subseed_strength=self.subseed_strength,
            errors=errors,
        )
        options |= vae_options(self.vae, entry, backend, errors)
        options |= hires_options(self, entry, backend, numbers, errors)
        options |= identities(entry, [name for name, _ in loras])
        errors |= model_families.refusals(entry, loras=loras, options=options, texts=[folder.get("prompt", ""), self.negative_prompt or ""])
        if errors:
            raise JobParameterError(fields=errors)
        return ValidJob(
            kind=self.kind,
            emotion_text=self.emotion_text,
            count=self.count,
            model=model,
            loras=[{"name": name, "weight": weight} for name, weight in loras],
            options=options,
            **folder,
            **numbers,
        )

    # --- the steps of validate() -----------------------------------------------------------------

    def _check_texts(self, errors: dict[str, str]) -> None:
        names = [name for name, _ in kinds.choices()]
        if self.kind not in names:
            errors["kind"] = one_of("kind", names)
        for name, limit in TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is None and name == "others":
                continue
            if not isinstance(value, str):
                errors[name] = gettext("%(name)s must be text.") % {"name": name}
            elif len(value) > limit:
                errors[name] = gettext("%(name)s must be at most %(limit)s characters.") % {"name": name, "limit": limit}

    def _folder(self, errors: dict[str, str]) -> dict:
        """Emotion, favorite and the prompt composed from them."""
        prompt, emotion = self.prompt.strip(), self.emotion.strip()
        if not prompt and not emotion:
            errors["emotion"] = gettext("Give a prompt, or an emotion to compose the prompt from.")
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
        checked = kiosk_favorite(favorite, field="favorite" if self.favorite.strip() else "emotion", errors=errors)
        if checked is None:
            return {}
        favorite = checked
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

    def _loras(self, folder: dict, errors: dict[str, str]) -> list[tuple[str, float]]:
        prompt, loras = self.split_loras(folder.get("prompt", ""), errors)
        if folder.get("prompt"):
            folder["prompt"] = prompt
        return loras

    def split_loras(self, prompt: str, errors: dict[str, str], *, prompt_required: bool = True) -> tuple[str, list[tuple[str, float]]]:
        """``prompt`` without its <lora:name:weight> tags, and the LoRAs: the request's, then the
        tags', one per name (the last weight given wins), each known to the library. A kind whose
        prompt may be empty (an edit) passes ``prompt_required=False``."""
        tagged: tuple[tuple[str, float], ...] = ()
        if prompt:
            try:
                prompt, tagged = extract_loras(prompt)
            except LoraSyntaxError as exc:
                errors["prompt"] = str(exc)
            if prompt_required and not prompt and "prompt" not in errors:
                errors["prompt"] = gettext("The prompt is only LoRA tags: add the words to paint.")
        weights: dict[str, float] = {}
        for item in (*self.loras, *tagged):
            if not isinstance(item, tuple | list) or len(item) != 2 or not isinstance(item[0], str) or not item[0].strip():
                errors["loras"] = gettext("Each LoRA is a name and a weight; got %(item)s.") % {"item": repr(item)}
                return prompt, []
            name, weight = item[0].strip(), item[1]
            low, high = LORA_WEIGHT_RANGE
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not low <= weight <= high:
                errors["loras"] = gettext("LoRA %(name)s: the weight must be a number between %(low)s and %(high)s; got %(value)s.") % {
                    "name": repr(name),
                    "low": f"{low:g}",
                    "high": f"{high:g}",
                    "value": repr(weight),
                }
                return prompt, []
            weights[name] = float(weight)
        if len(weights) > MAX_LORAS:
            errors["loras"] = gettext("At most %(limit)s LoRAs per job.") % {"limit": MAX_LORAS}
            return prompt, []
        unknown = []
        for name in weights:
            try:
                library.resolve_lora(name)
            except library.UnknownEntry as exc:
                unknown.append(str(exc))
        if unknown:
            errors["loras"] = " ".join(unknown)
        return prompt, list(weights.items())

    def _model(self, backend: str, errors: dict[str, str]) -> tuple[LibraryEntry | None, str]:
        """The library pipeline asked for (by name or A1111 title), else the library's default; no
        library: (None, "") and GARDEN_DIFFUSION_MODEL paints."""
        asked = self.model
        if asked is not None and (not isinstance(asked, str) or len(asked) > 300):
            errors["model"] = gettext("model must be the name of a model of the library.")
            return None, ""
        asked = (asked or "").strip()
        if backend != backends.DIFFUSERS:
            if asked:
                errors["model"] = gettext("Models of the library are for the diffusers backend; this job uses %(backend)s.") % {
                    "backend": backend
                }
            return None, ""
        if not asked:
            try:  # the chosen default, a stand-in while its file is gone, or a 400 saying why neither
                entry = library.default_for_jobs()
            except library.UnknownEntry as exc:
                errors["model"] = str(exc)
                return None, ""
            return entry, entry.name if entry else ""
        try:
            entry = library.resolve_model(asked)
        except library.UnknownEntry as exc:
            # Without library pipelines the one model is GARDEN_DIFFUSION_MODEL: naming it is fine.
            configured = settings.GARDEN_DIFFUSION_MODEL.rstrip("/")
            if not library.pipelines().exists() and library.strip_title(asked) in (configured, configured.rsplit("/", 1)[-1]):
                return None, ""
            errors["model"] = str(exc)
            return None, ""
        return entry, entry.name

    def _options(self, errors: dict[str, str]) -> dict:
        """Sampler, CLIP skip and A1111's variation seed: only those set."""
        options: dict = {}
        if self.sampler:
            if self.sampler not in backends.SAMPLERS:
                errors["sampler"] = gettext("%(name)s must be one of %(choices)s; got %(value)s.") % {
                    "name": "sampler",
                    "choices": ", ".join(backends.SAMPLERS),
                    "value": repr(self.sampler),
                }
            else:
                options["sampler"] = self.sampler
        if self.eta is not None:
            if isinstance(self.eta, bool) or not isinstance(self.eta, int | float) or not 0 <= self.eta <= 1:
                errors["eta"] = between("eta", 0, 1, got=self.eta)
            elif self.sampler in backends.ETA_SAMPLERS and self.eta:
                options["eta"] = float(self.eta)
        if self.clip_skip is not None:
            check_int("clip_skip", self.clip_skip, *CLIP_SKIP_RANGE, errors)
            options["clip_skip"] = self.clip_skip
        if self.subseed is not None:
            check_int("subseed", self.subseed, 0, SEED_LIMIT - 1, errors)
            options["subseed"] = self.subseed
        if self.origin:
            if self.origin not in ORIGINS:
                errors["origin"] = one_of("origin", ORIGINS)
            else:
                options["origin"] = self.origin
        strength = self.subseed_strength
        if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0 <= strength <= 1:
            errors["subseed_strength"] = between("subseed_strength", 0, 1, got=strength)
        elif strength:
            options["subseed_strength"] = float(strength)
        return options

    def _numbers(self, errors: dict[str, str], *, entry: LibraryEntry | None = None) -> dict:
        """Sizes, steps, guidance, seed and backend, defaults filled in (the library model's first)."""
        default_width, default_height = LANDSCAPE_SIZE if self.kind == GenerationJob.Kind.BULK else IMAGES_SIZE
        if entry is not None and self.kind != GenerationJob.Kind.BULK and entry.default_width and entry.default_height:
            # Bulk jobs keep the kiosks' landscape/portrait sizes; one-off images take the model's.
            default_width, default_height = entry.default_width, entry.default_height
        default_steps = entry.default_steps if entry is not None and entry.default_steps else settings.GARDEN_DEFAULT_STEPS
        default_guidance = settings.GARDEN_DEFAULT_GUIDANCE
        if entry is not None and entry.default_guidance is not None:
            default_guidance = entry.default_guidance
        width = default_width if self.width is None else self.width
        height = default_height if self.height is None else self.height
        check_size("width", width, settings.GARDEN_MAX_WIDTH, errors)
        check_size("height", height, settings.GARDEN_MAX_HEIGHT, errors)
        sizes_ok = "width" not in errors and "height" not in errors
        if self.kind == GenerationJob.Kind.BULK and sizes_ok and not portrait_fits(width, height):
            errors["height"] = gettext(
                "Bulk jobs also make the portrait (height x width): it must fit the largest size this site allows, %(size)s."
            ) % {"size": f"{settings.GARDEN_MAX_WIDTH}x{settings.GARDEN_MAX_HEIGHT}"}
        steps = default_steps if self.steps is None else self.steps
        check_int("steps", steps, 1, settings.GARDEN_MAX_STEPS, errors, setting="GARDEN_MAX_STEPS")
        check_int("count", self.count, 1, settings.GARDEN_MAX_COUNT, errors, setting="GARDEN_MAX_COUNT")
        seed = chance.randbelow(SEED_LIMIT) if self.seed is None else self.seed
        check_int("seed", seed, 0, SEED_LIMIT - 1, errors)
        guidance = default_guidance if self.guidance is None else self.guidance
        low, high = GUIDANCE_RANGE
        if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not low <= guidance <= high:
            errors["guidance"] = between("guidance", low, high)
        backend = self.backend or settings.GARDEN_GENERATOR_BACKEND
        if backend not in backends.BACKENDS:
            errors["backend"] = one_of("backend", backends.BACKENDS)
        return {"width": width, "height": height, "steps": steps, "seed": seed, "guidance": float(guidance), "backend": backend}
