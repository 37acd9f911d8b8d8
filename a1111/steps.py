"""A1111's ``img2img_fix_steps``: img2img runs exactly ``steps`` denoising steps (A1111's rule for
the hires pass, generation.backends.hires.second_pass_schedule) instead of ``int(steps × denoising)``.

Set for the server by ``POST /sdapi/v1/options`` (kept in a1111.models.SavedOption, answered by
``GET``) or per request by ``override_settings.img2img_fix_steps``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from a1111.models import SavedOption
from generation.backends import hires
from generation.requests import JobParameterError

OPTION = "img2img_fix_steps"


def saved() -> bool:
    """The server's value (False until a client sets it, as in A1111)."""
    option = SavedOption.objects.filter(name=OPTION).first()
    return bool(option.value) if option is not None else False


def save(values: dict) -> None:
    """``POST /sdapi/v1/options``: keep ``img2img_fix_steps`` when the body names it."""
    if OPTION not in values:
        return
    value = values[OPTION]
    if not isinstance(value, bool):
        raise JobParameterError(fields={OPTION: f"{OPTION} must be true or false."})
    SavedOption.objects.update_or_create(name=OPTION, defaults={"value": value})


def requested(overrides: dict) -> bool:
    """The request's ``override_settings.img2img_fix_steps``, else the server's."""
    value = overrides.get(OPTION)
    if value is None:
        return saved()
    if not isinstance(value, bool):
        raise JobParameterError(fields={f"override_settings.{OPTION}": f"{OPTION} must be true or false."})
    return value


def img2img_schedule(steps: Any, denoising: Any, *, fixed: bool) -> tuple[Any, Any]:
    """(the steps to ask for, the strength): as sent without ``fixed``; with it, the schedule that runs
    exactly ``steps`` steps (a 400 naming ``denoising_strength`` when it is longer than GARDEN_MAX_STEPS)."""
    if not fixed or isinstance(steps, bool) or not isinstance(steps, int) or isinstance(denoising, bool):
        return steps, denoising  # the request's own checks name what is wrong
    if not isinstance(denoising, int | float) or steps < 1 or not 0 < denoising <= 1:
        return steps, denoising
    scheduled, strength = hires.second_pass_schedule(steps, float(denoising))
    if scheduled > settings.GARDEN_MAX_STEPS:
        raise JobParameterError(
            fields={
                "denoising_strength": f"img2img_fix_steps: {steps} steps at denoising {denoising:g} schedule {scheduled} steps, "
                f"more than GARDEN_MAX_STEPS ({settings.GARDEN_MAX_STEPS}): raise denoising_strength or lower steps."
            }
        )
    return scheduled, strength
