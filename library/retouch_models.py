"""The retouch models of the library: ControlNet and WD14 tagger folders (docs/models.md#the-folder).

Under ``controlnet/`` (or A1111's ``ControlNet/``, ``controlnets/``) each folder holding
``config.json`` is a ControlNet as diffusers saves it (``ControlNetModel``, config + weights); its
family comes from the config's cross-attention width. Under ``tagger/`` (``taggers/``) each folder
holding ``model.onnx`` or ``selected_tags.csv`` is a WD14 tagger (SmilingWolf's layout, the pair
of them). A single weights file under ``controlnet/`` (A1111's ``.pth``/``.safetensors`` layout)
is listed, not usable: the engine loads diffusers folders. Torch-free, like the rest of the scan.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from library import checkpoints, completeness
from library.models import LibraryEntry

Kind, Family = LibraryEntry.Kind, LibraryEntry.Family
CONTROLNET_FOLDERS = {"controlnet", "controlnets"}  # lower-cased: A1111's models/ControlNet too
TAGGER_FOLDERS = {"tagger", "taggers"}
CONTROLNET_CLASS = "ControlNetModel"
CONTROLNET_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.bin")
TAGGER_FILES = ("model.onnx", "selected_tags.csv")
# The UNet families by cross-attention width: what a ControlNet must match (the engine checks it again).
WIDTH_FAMILIES = {768: Family.SD1, 1024: Family.SD2, 2048: Family.SDXL}
SINGLE_FILE_CONTROLNET = (
    "a ControlNet in one file (A1111's layout): the retouch engine loads diffusers ControlNet folders "
    "(config.json and diffusion_pytorch_model.safetensors, e.g. lllyasviel/control_v11p_sd15_lineart) under controlnet/<name>/"
)


def role_of(parts: set[str]) -> str:
    """The kind of what lies under a folder with these (lower-cased) path parts, or ""."""
    if parts & CONTROLNET_FOLDERS:
        return Kind.CONTROLNET
    if parts & TAGGER_FOLDERS:
        return Kind.TAGGER
    return ""


def is_model_folder(role: str, folder: Path, files: list[str]) -> bool:
    """Whether ``folder`` (under a folder of this role) is one model, listed as a whole."""
    if role == Kind.CONTROLNET:
        return "config.json" in files
    if role == Kind.TAGGER:
        return any(name in files for name in TAGGER_FILES)
    return False


def describe(role: str, folder: Path) -> tuple[str, dict, bool, str, bool]:
    """(family, details, usable, reason, whole) of a ControlNet or tagger folder."""
    return _controlnet(folder) if role == Kind.CONTROLNET else _tagger(folder)


def _controlnet(folder: Path) -> tuple[str, dict, bool, str, bool]:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    config = config if isinstance(config, dict) else {}
    class_name = str(config.get("_class_name", ""))
    width = config.get("cross_attention_dim")
    details = {"format": "diffusers", "class_name": class_name, "cross_attention_dim": width}
    family = WIDTH_FAMILIES.get(width, Family.OTHER) if isinstance(width, int) else Family.OTHER
    shortfall = _weights_shortfall(folder)
    if shortfall:
        return family, details, False, shortfall, False
    if class_name != CONTROLNET_CLASS:
        why = f"a {class_name or 'unknown'} ControlNet: the retouch engine loads {CONTROLNET_CLASS} folders (SD 1.x, 2.x and XL UNets)"
        return family, details, False, why, True
    return family, details, True, "", True


def _weights_shortfall(folder: Path) -> str:
    weights = next((folder / name for name in CONTROLNET_WEIGHTS if (folder / name).is_file()), None)
    if weights is None:
        return f"incomplete: no weights beside config.json ({CONTROLNET_WEIGHTS[0]})"
    if weights.suffix != ".safetensors":
        return ""
    try:
        why = completeness.safetensors_shortfall(weights, checkpoints.read_header(weights))
    except checkpoints.HeaderError as exc:
        why = f"unreadable ({exc})"
    return f"{weights.name} is {why}" if why else ""


def _tagger(folder: Path) -> tuple[str, dict, bool, str, bool]:
    missing = [name for name in TAGGER_FILES if not (folder / name).is_file()]
    if missing:
        return Family.OTHER, {"format": "onnx"}, False, f"incomplete: {' and '.join(missing)} missing (a WD14 tagger has both)", False
    try:
        with (folder / "selected_tags.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        tags = len(rows)
        readable = all("name" in row and "category" in row for row in rows[:1])
    except (OSError, UnicodeDecodeError, csv.Error):
        tags, readable = 0, False
    details = {"format": "onnx", "tags": tags}
    if not readable or not tags:
        return Family.OTHER, details, False, "selected_tags.csv has no name and category columns", True
    return Family.OTHER, details, True, "", True
