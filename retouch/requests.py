"""Validating a retouch ``JobRequest``: the hook ``JobRequest.validate`` calls for the retouch kinds.

Generation checks and screens the texts every job shares, then hands a retouch request here
(registered in ``retouch.apps``). A retouch keeps its source's folder, whatever its favorite; its
prompt is used as given (it may be empty, or only LoRA tags); width and height are the source's
(read by ``retouch.services`` into the options' geometry); it paints with the diffusers backend and
the retouch models, or the library model it names (``model``: retouch.runner), and takes its sampler,
CLIP skip and strength in its own options
(``retouch.options.RetouchOptions``).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from config import chance
from garden import keys
from generation import backends
from generation.requests import GUIDANCE_RANGE, ORIGINS, SEED_LIMIT, JobParameterError, JobRequest, ValidJob, between, check_int
from generation.requests.checks import one_of
from library import selectors as library
from retouch.models import RetouchKind
from retouch.options import RetouchOptions


def library_model(asked, errors: dict[str, str]) -> str:
    """The library pipeline a retouch job asks to paint with ("" for the retouch models): its name,
    or the reason in ``errors["model"]``. PixArt/Sana have no inpainting pipeline in diffusers."""
    if asked in (None, ""):
        return ""
    if not isinstance(asked, str) or len(asked) > 300:
        errors["model"] = gettext("model must be the name of a model of the library.")
        return ""
    try:
        entry = library.resolve_model(asked)
    except library.UnknownEntry as exc:
        errors["model"] = str(exc)
        return ""
    if entry.family == entry.Family.PIXART:
        errors["model"] = gettext("The model %(model)s (%(family)s) has no inpainting pipeline: retouch with another model.") % {
            "model": repr(entry.name),
            "family": entry.get_family_display(),
        }
        return ""
    return entry.name


def validate_retouch(request: JobRequest, errors: dict[str, str]) -> ValidJob:
    """The retouch request with every default filled in, or JobParameterError naming every bad field."""
    try:
        emotion, favorite = keys.parse_search_key(request.emotion.strip() or settings.GARDEN_TEXT2IMAGE_EMOTION)
    except keys.InvalidKey as exc:
        errors["emotion"] = exc.message
        emotion, favorite = "", ""
    steps = settings.GARDEN_DEFAULT_STEPS if request.steps is None else request.steps
    check_int("steps", steps, 1, settings.GARDEN_MAX_STEPS, errors, setting="GARDEN_MAX_STEPS")
    batch = request.kind == RetouchKind.BATCH
    check_int("count", request.count, 1, 1 if batch else settings.GARDEN_MAX_COUNT, errors, setting="" if batch else "GARDEN_MAX_COUNT")
    seed = chance.randbelow(SEED_LIMIT) if request.seed is None else request.seed
    check_int("seed", seed, 0, SEED_LIMIT - 1, errors)
    guidance = settings.GARDEN_DEFAULT_GUIDANCE if request.guidance is None else request.guidance
    if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not GUIDANCE_RANGE[0] <= guidance <= GUIDANCE_RANGE[1]:
        errors["guidance"] = between("guidance", *GUIDANCE_RANGE)
    if request.backend not in (None, backends.DIFFUSERS):
        errors["backend"] = gettext("Retouching needs the diffusers backend.")
    model = library_model(request.model, errors)
    # LoRAs asked or as <lora:…> tags: the retouch engine switches them on for its calls as text-to-image does.
    prompt, loras = request.split_loras(request.prompt.strip(), errors, prompt_required=False)
    for name in ("sampler", "clip_skip", "subseed"):
        if getattr(request, name) not in (None, ""):
            errors[name] = gettext("Retouch jobs take %(name)s in their retouch options, not here.") % {"name": name}
    if request.subseed_strength:
        errors["subseed_strength"] = gettext("Retouch jobs have no variation seed.")
    if request.init_image is not None or request.denoising_strength is not None:
        errors["init_image"] = gettext("Retouch jobs name their source (image_id) and take their strength in their retouch options.")
    if request.origin and request.origin not in ORIGINS:  # an API client's job says so, as text-to-image's does
        errors["origin"] = one_of("origin", ORIGINS)
    options = request.kind_options or RetouchOptions()
    if not isinstance(options, RetouchOptions):
        raise JobParameterError(fields={"kind": f"{request.kind} jobs take RetouchOptions."})
    retouch = options.validate(errors, steps=steps if isinstance(steps, int) else 1, batch=batch)
    if errors:
        raise JobParameterError(fields=errors)
    width, height = retouch["source_size"]
    return ValidJob(
        kind=request.kind,
        prompt=prompt,
        emotion=emotion,
        favorite=favorite,
        emotion_text="",
        others="",
        negative_prompt=request.negative_prompt.strip(),
        width=width,
        height=height,
        steps=steps,
        guidance=float(guidance),
        seed=seed,
        count=request.count,
        backend=backends.DIFFUSERS,
        model=model,
        kind_options=retouch,
        loras=[{"name": name, "weight": weight} for name, weight in loras],
        options={"origin": request.origin} if request.origin else {},
    )
