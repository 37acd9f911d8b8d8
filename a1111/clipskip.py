"""A1111's ``CLIP_stop_at_last_layers`` (CLIP skip) as a server option: ``POST /sdapi/v1/options``
keeps it (a1111.models.SavedOption, as A1111 keeps its one user's options), ``GET`` answers it,
and txt2img and img2img paint with it unless the request's ``override_settings`` names another.
"""

from __future__ import annotations

from a1111.models import SavedOption
from generation.requests import JobParameterError

OPTION = "CLIP_stop_at_last_layers"
RANGE = (1, 12)  # 1: no skip (A1111's slider)


def valid(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and RANGE[0] <= value <= RANGE[1]


def saved() -> int:
    """The server's value (1 until a client sets it, as in A1111)."""
    option = SavedOption.objects.filter(name=OPTION).first()
    return option.value if option is not None and valid(option.value) else 1


def save(values: dict) -> None:
    """``POST /sdapi/v1/options``: keep the CLIP skip when the body names it."""
    if OPTION not in values or values[OPTION] is None:
        return
    value = values[OPTION]
    if not valid(value):
        raise JobParameterError(fields={OPTION: f"{OPTION} must be a whole number from {RANGE[0]} (no skip) to {RANGE[1]}."})
    SavedOption.objects.update_or_create(name=OPTION, defaults={"value": value})
