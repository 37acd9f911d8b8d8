"""A request's hires fix (generation.backends.hires): whether it is on, its first pass, upscaler and
second pass, or the errors naming each bad field.

``hires_steps`` is what the second pass runs, as AUTOMATIC1111 counts ``hr_second_pass_steps``
(``hires.second_pass_schedule``); without it the garden's jobs run ``int(steps × denoising)``
steps (at least one), the share of the steps that img2img has always run here, and the A1111 API
sends ``hr_second_pass_steps`` or the first pass's ``steps``. One of JobRequest's parts.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext

from generation import backends
from generation.backends import hires as hires_module
from generation.models import GenerationJob
from generation.requests.checks import check_int, check_size
from library import selectors as library
from library.models import LibraryEntry


class JobRequest(Protocol):
    """What the hires fix reads of a generation.requests.JobRequest (a protocol: the package's
    ``__init__`` imports this module, so this one does not import it back; read-only, as the frozen dataclass is)."""

    @property
    def kind(self) -> str: ...

    @property
    def recipes(self) -> tuple[dict, ...]: ...

    @property
    def init_image(self) -> int | None: ...

    @property
    def hires_fix(self) -> bool | None: ...

    @property
    def hires_upscaler(self) -> str: ...

    @property
    def hires_steps(self) -> int | None: ...

    @property
    def hires_denoising(self) -> float | None: ...

    @property
    def hires_first_width(self) -> int | None: ...

    @property
    def hires_first_height(self) -> int | None: ...


DETAILS = ("hires_steps", "hires_denoising", "hires_first_width", "hires_first_height", "hires_upscaler")


def hires_options(request: JobRequest, entry: LibraryEntry | None, backend: str, numbers: dict, errors: dict[str, str]) -> dict:
    """``{"hires": {...}}`` when ``request`` (a JobRequest) paints in two passes, else {}."""
    asked = request.hires_fix
    if asked is not None and not isinstance(asked, bool):
        errors["hires_fix"] = gettext("hires_fix must be true or false.")
        return {}
    if not _is_on(request, backend):
        for name in DETAILS:
            if getattr(request, name) not in (None, ""):
                errors[name] = gettext("%(name)s is for the hires fix: set hires_fix to true.") % {"name": name}
        return {}
    if backend != backends.DIFFUSERS:
        errors["hires_fix"] = gettext("The hires fix is for the diffusers backend; this job uses %(backend)s.") % {"backend": backend}
        return {}
    if request.init_image is not None:
        errors["hires_fix"] = gettext("The hires fix paints from text: it cannot start from init_image.")
        return {}
    width, height, steps = numbers.get("width"), numbers.get("height"), numbers.get("steps")
    if not (isinstance(width, int) and isinstance(height, int) and isinstance(steps, int)) or {"width", "height", "steps"} & set(errors):
        return {}
    first = _first_pass(request, entry, width, height, errors)
    if first is None:
        return {}
    upscaler = _upscaler(request.hires_upscaler, entry, errors)
    second = _second_pass(request.hires_steps, request.hires_denoising, steps, errors)
    if upscaler is None or second is None:
        return {}
    return {"hires": {**first, "upscaler": upscaler, **second}}


def _is_on(request: JobRequest, backend: str) -> bool:
    """Asked, or by default: bulk jobs (larger than their model's native size: see _first_pass)."""
    if request.hires_fix is not None:
        return request.hires_fix
    on = request.kind == GenerationJob.Kind.BULK and settings.GARDEN_HIRES_FIX and backend == backends.DIFFUSERS
    return on and request.init_image is None and request.recipes == ()


def _first_pass(request: JobRequest, entry: LibraryEntry | None, width: int, height: int, errors: dict[str, str]) -> dict | None:
    """``{"first": [w, h]}`` when asked, else ``{"native": [w, h]}`` of the model; None (with an error
    when the fix was asked for explicitly) when there is no first pass to paint."""
    explicit = request.hires_fix is True
    first = (request.hires_first_width, request.hires_first_height)
    if first != (None, None):
        check_size("hires_first_width", first[0], settings.GARDEN_MAX_WIDTH, errors)
        check_size("hires_first_height", first[1], settings.GARDEN_MAX_HEIGHT, errors)
        first_width, first_height = first
        if {"hires_first_width", "hires_first_height"} & set(errors):
            return None
        if not (isinstance(first_width, int) and isinstance(first_height, int)):
            return None
        if first_width * first_height >= width * height:
            errors["hires_first_width"] = gettext("The first pass (%(first)s) must be smaller than the picture (%(size)s).") % {
                "first": f"{first_width}x{first_height}",
                "size": f"{width}x{height}",
            }
            return None
        return {"first": [first_width, first_height]}
    native_width, native_height = (entry.default_width, entry.default_height) if entry is not None else (None, None)
    if not native_width or not native_height:
        if explicit:
            errors["hires_fix"] = gettext(
                "The model's native size is unknown (no library model with a default width and height): "
                "give hires_first_width and hires_first_height."
            )
        return None
    if hires_module.first_pass_size(width, height, native_width, native_height) is None:
        if explicit:
            errors["hires_fix"] = gettext("%(size)s is no larger than the model's native %(native)s: paint it in one pass.") % {
                "size": f"{width}x{height}",
                "native": f"{native_width}x{native_height}",
            }
        return None
    return {"native": [native_width, native_height]}


def _upscaler(asked: str, entry: LibraryEntry | None, errors: dict[str, str]) -> str | None:
    """A built-in upscaler's name, or a library upscaler's; None with the error."""
    field = "hires_upscaler" if asked else "GARDEN_HIRES_UPSCALER"
    upscaler = asked or settings.GARDEN_HIRES_UPSCALER
    if not isinstance(upscaler, str) or not upscaler.strip():
        errors["hires_upscaler"] = gettext("hires_upscaler must be the name of an upscaler.")
        return None
    upscaler = upscaler.strip()
    if upscaler.lower() in hires_module.LATENT_UPSCALERS and entry is not None and entry.family == LibraryEntry.Family.FLUX:
        errors["hires_upscaler"] = gettext("Flux packs its latents: use lanczos, nearest or an upscaler of the library (%(field)s).") % {
            "field": field
        }
        return None
    if upscaler.lower() in hires_module.BUILT_IN:
        return upscaler.lower()
    try:
        return library.resolve_upscaler(upscaler).name
    except library.UnknownEntry as exc:
        built_in = ", ".join(hires_module.BUILT_IN)
        errors["hires_upscaler"] = f"{exc} " + gettext("Built in: %(names)s (%(field)s).") % {"names": built_in, "field": field}
        return None


def _second_pass(asked_steps: object, asked_denoising: object, steps: int, errors: dict[str, str]) -> dict | None:
    """``{"steps": the steps it runs, "denoising": d}``; None with the errors."""
    denoising = settings.GARDEN_HIRES_DENOISING if asked_denoising is None else asked_denoising
    if isinstance(denoising, bool) or not isinstance(denoising, int | float) or not 0 < denoising <= 1:
        errors["hires_denoising"] = gettext("hires_denoising must be a number above 0, at most 1; got %(value)s.") % {
            "value": repr(denoising)
        }
        return None
    second = max(1, int(steps * denoising)) if asked_steps is None else asked_steps
    check_int("hires_steps", second, 1, settings.GARDEN_MAX_STEPS, errors, setting="GARDEN_MAX_STEPS")
    if "hires_steps" in errors or not isinstance(second, int):
        return None
    scheduled, _ = hires_module.second_pass_schedule(second, float(denoising))
    if scheduled > hires_module.SCHEDULE_LIMIT:
        errors["hires_denoising"] = gettext(
            "%(steps)s second-pass steps at denoising %(denoising)s need a schedule of %(scheduled)s steps, more than the "
            "%(limit)s a model's scheduler has: raise hires_denoising or lower hires_steps."
        ) % {"steps": second, "denoising": f"{denoising:g}", "scheduled": scheduled, "limit": hires_module.SCHEDULE_LIMIT}
        return None
    return {"steps": second, "denoising": float(denoising)}
