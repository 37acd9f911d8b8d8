"""Which retouch features this installation can offer, from the settings that name their models.

A feature whose model is not configured is off: its endpoints answer 503 naming the setting
(``require``), the staff page hides its control, and ``GET /api/v1/retouch/status`` lists it.
Models live on the GPU workers, which may be other machines: the web tier knows what is
*configured*, and reports whether a configured local path also exists here (``found_here``). A
ControlNet or tagger setting that names a library entry is checked against the library instead
(``found_here``: the library can supply it; ``require``: a 503 with the library's reason when not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from config.errors import Unavailable
from retouch import model_folders


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


CONTROLNET, TAGGER = model_folders.CONTROLNET_SETTINGS, model_folders.TAGGER_SETTING
FEATURES = {
    "inpaint": Feature("inpaint", "GARDEN_RETOUCH_INPAINT_MODEL", "a local inpainting model folder, or a GARDEN_DIFFUSION_MODEL"),
    "lineart": Feature("lineart", CONTROLNET["lineart"], "a lineart ControlNet of the library (controlnet/<name>/) or a folder"),
    "canny": Feature("canny", CONTROLNET["canny"], "a Canny ControlNet of the library (controlnet/<name>/) or a folder"),
    "reference": Feature("reference", "GARDEN_RETOUCH_IP_ADAPTER", "an IP-Adapter .safetensors file (image_encoder/ beside it)"),
    "tags": Feature("tags", TAGGER, "a WD14 tagger of the library (tagger/<name>/: model.onnx, selected_tags.csv) or such a folder"),
}
LIBRARY_FEATURES = ("lineart", "canny", "tags")  # their settings may name library entries (retouch.model_folders)


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


def _library_can_supply(setting: str) -> bool | None:
    """For a setting that names a library entry: whether the library can supply it (any host fetches it)."""
    value = model_folders.value_of(setting)
    if not value or model_folders.is_folder_path(value):
        return _found_here(value)
    return not model_folders.problem(setting)


def feature_status() -> dict[str, dict]:
    status = {"edges": {"available": True, "setting": None, "model": "lineart_standard, canny (no weights)", "found_here": True}}
    for name, feature in FEATURES.items():
        setting, model = _inpaint_model() if name == "inpaint" else (feature.setting, feature.value)
        found = _library_can_supply(setting) if name in LIBRARY_FEATURES else _found_here(model)
        status[name] = {"available": bool(model), "setting": setting, "model": model, "found_here": found}
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
    elif name in LIBRARY_FEATURES and model_folders.problem(feature.setting):
        raise RetouchUnavailable(model_folders.problem(feature.setting))


def require_for(options) -> None:
    """Every feature a retouch request asks for (``RetouchOptions``), or RetouchUnavailable for the first missing one."""
    require("inpaint")
    for unit in options.controls:
        if unit.type in FEATURES:
            require(unit.type)
    if options.reference is not None:
        require("reference")
