"""Which retouch features this installation can offer, from the settings that name their models.

A feature whose model is not configured is off: its endpoints answer 503 naming the setting
(``require``), the staff page hides its control, and ``GET /api/v1/retouch/status`` lists it.
Models live on the GPU workers, which may be other machines: the web tier knows what is
*configured*, and reports whether a configured local path also exists here (``found_here``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from config.errors import Unavailable


class RetouchUnavailable(Unavailable):
    """A retouch feature whose model is not configured (the message names the setting)."""


@dataclass(frozen=True)
class Feature:
    name: str
    setting: str
    needs: str  # what to put in the setting

    @property
    def value(self) -> str:
        return getattr(settings, self.setting)


FEATURES = {
    "inpaint": Feature("inpaint", "GARDEN_RETOUCH_INPAINT_MODEL", "a local inpainting model folder, or a GARDEN_DIFFUSION_MODEL"),
    "lineart": Feature("lineart", "GARDEN_RETOUCH_LINEART_CONTROLNET", "a local lineart ControlNet folder"),
    "canny": Feature("canny", "GARDEN_RETOUCH_CANNY_CONTROLNET", "a local Canny ControlNet folder"),
    "reference": Feature("reference", "GARDEN_RETOUCH_IP_ADAPTER", "an IP-Adapter .safetensors file (image_encoder/ beside it)"),
    "tags": Feature("tags", "GARDEN_RETOUCH_TAGGER_MODEL", "a WD14 tagger folder (model.onnx, selected_tags.csv)"),
}


def _inpaint_model() -> tuple[str, str]:
    """(setting, model) retouch paints with: its own model, else the text-to-image one when diffusers is on."""
    if settings.GARDEN_RETOUCH_INPAINT_MODEL:
        return "GARDEN_RETOUCH_INPAINT_MODEL", settings.GARDEN_RETOUCH_INPAINT_MODEL
    if settings.GARDEN_GENERATOR_BACKEND == "diffusers":
        return "GARDEN_DIFFUSION_MODEL", settings.GARDEN_DIFFUSION_MODEL
    return "GARDEN_RETOUCH_INPAINT_MODEL", ""


def _found_here(value: str) -> bool | None:
    """Whether a path-like setting exists on this machine; None for hub ids (not checkable here)."""
    if not value:
        return None
    path = Path(value)
    return path.exists() if path.is_absolute() or value.startswith(".") else None


def feature_status() -> dict[str, dict]:
    status = {"edges": {"available": True, "setting": None, "model": "lineart_standard, canny (no weights)", "found_here": True}}
    for name, feature in FEATURES.items():
        setting, model = _inpaint_model() if name == "inpaint" else (feature.setting, feature.value)
        status[name] = {"available": bool(model), "setting": setting, "model": model, "found_here": _found_here(model)}
    return status


def require(name: str) -> None:
    feature = FEATURES[name]
    if name == "inpaint":
        if not _inpaint_model()[1]:
            raise RetouchUnavailable(
                "Retouching needs a diffusion model: set GARDEN_RETOUCH_INPAINT_MODEL to a local inpainting model folder, "
                "or GARDEN_DIFFUSION_MODEL (with GARDEN_GENERATOR_BACKEND=diffusers)."
            )
    elif not feature.value:
        raise RetouchUnavailable(f"{name.capitalize()} is not configured: set {feature.setting} to {feature.needs}.")


def require_for(options) -> None:
    """Every feature a retouch request asks for (``RetouchOptions``), or RetouchUnavailable for the first missing one."""
    require("inpaint")
    for unit in options.controls:
        if unit.type in FEATURES:
            require(unit.type)
    if options.reference is not None:
        require("reference")
