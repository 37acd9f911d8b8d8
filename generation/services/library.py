"""The model library, write side: scan GARDEN_MODELS_DIR into LibraryEntry rows; choose the default.

The scan recognises (docs/models.md):

- a folder holding ``model_index.json``: a diffusers pipeline, its family read from its configs;
- a ``.safetensors`` file with LoRA keys (kohya ``lora_unet_…`` / ``lora_down``/``lora_up``, peft
  ``…lora_A``/``lora_B``, diffusers ``…lora.down``/``lora.up``): a LoRA;
- a ``.safetensors`` file with a textual-inversion key (``emb_params``, ``string_to_param``,
  ``clip_l``/``clip_g``) or a single small tensor: an embedding.

Only key names and shapes are read (safetensors' header), never the weights, and no torch.
Entries are named by their folder or file stem. Rows the scan no longer finds stay, marked
``present=False`` (jobs cannot use them); curators' defaults survive a rescan.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from generation import library
from generation.models import LibraryEntry
from generation.requests import JobParameterError

log = logging.getLogger(__name__)

Kind, Family = LibraryEntry.Kind, LibraryEntry.Family
# Per family: steps, guidance, width, height (a curator may change them in the admin).
FAMILY_DEFAULTS: dict[str, tuple[int | None, float | None, int | None, int | None]] = {
    Family.SD1: (25, 7.0, 512, 512),
    Family.SD2: (25, 7.0, 768, 768),
    Family.SDXL: (30, 7.0, 1024, 1024),
    Family.TURBO: (4, 0.0, 512, 512),  # distilled: 1–4 steps, no classifier-free guidance
}
EMBEDDING_KEYS = ("emb_params", "string_to_param", "clip_l", "clip_g")
LORA_MARKERS = ("lora_unet_", "lora_te", "lora_A", "lora_B", "lora_down", "lora_up", "lora.down", "lora.up")
# A single-tensor embedding holds a few vectors of the text encoder's width (≤ 2048 for SDXL's).
EMBEDDING_MAX_ELEMENTS = 75 * 2048


class LibraryError(DomainError):
    """The models folder cannot be scanned (missing, not a folder)."""


@dataclass
class ScanResult:
    found: list[LibraryEntry] = field(default_factory=list)
    missing: list[LibraryEntry] = field(default_factory=list)  # rows no longer found
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)

    def summary(self) -> str:
        kinds = {kind: sum(entry.kind == kind for entry in self.found) for kind in Kind.values}
        text = f"{kinds['pipeline']} pipeline(s), {kinds['lora']} LoRA(s), {kinds['embedding']} embedding(s)"
        if self.missing:
            text += f"; no longer found: {', '.join(entry.name for entry in self.missing)}"
        if self.skipped:
            text += f"; skipped {len(self.skipped)} file(s)"
        return text


@dataclass(frozen=True)
class Found:
    kind: str
    name: str
    path: str  # relative to the models folder
    family: str
    size_bytes: int
    details: dict


def scan() -> ScanResult:
    """Walk GARDEN_MODELS_DIR and bring the library rows up to date."""
    root_setting = settings.GARDEN_MODELS_DIR
    if not root_setting:
        return ScanResult()
    root = Path(root_setting)
    if not root.is_dir():
        raise LibraryError(f"GARDEN_MODELS_DIR ({root}) is not a folder: create it, or set GARDEN_MODELS_DIR to the models folder.")
    result = ScanResult()
    found = _unique_names(_walk(root, result.skipped))
    now = timezone.now()
    with transaction.atomic():
        seen: set[tuple[str, str]] = set()
        for item in found:
            entry = LibraryEntry.objects.filter(kind=item.kind, name=item.name).first()
            if entry is None:
                steps, guidance, width, height = FAMILY_DEFAULTS.get(item.family, (None, None, None, None))
                entry = LibraryEntry(
                    kind=item.kind,
                    name=item.name,
                    default_steps=steps if item.kind == Kind.PIPELINE else None,
                    default_guidance=guidance if item.kind == Kind.PIPELINE else None,
                    default_width=width if item.kind == Kind.PIPELINE else None,
                    default_height=height if item.kind == Kind.PIPELINE else None,
                )
            entry.path, entry.family, entry.size_bytes, entry.details = item.path, item.family, item.size_bytes, item.details
            entry.present, entry.scanned_at = True, now
            entry.save()
            seen.add((entry.kind, entry.name))
            result.found.append(entry)
        for entry in LibraryEntry.objects.filter(present=True):
            if (entry.kind, entry.name) not in seen:
                entry.present = False
                entry.save(update_fields=["present"])
                result.missing.append(entry)
        _ensure_default_pipeline()
        defaults = set(LibraryEntry.objects.filter(is_default=True).values_list("pk", flat=True))
        for entry in result.found:
            entry.is_default = entry.pk in defaults
    log.info("model library scanned: %s", result.summary())
    return result


def _ensure_default_pipeline() -> None:
    """The first present pipeline becomes the default when none present is (the default was removed)."""
    pipelines = LibraryEntry.objects.filter(kind=Kind.PIPELINE)
    if pipelines.filter(is_default=True, present=True).exists():
        return
    first = pipelines.filter(present=True).order_by("name").first()
    pipelines.filter(is_default=True).update(is_default=False)
    if first is not None:
        pipelines.filter(pk=first.pk).update(is_default=True)


def set_default(name: str) -> LibraryEntry:
    """Make the present pipeline ``name`` (or A1111 title ``"name [hash]"``) the one jobs use by default."""
    try:
        entry = library.resolve_model(name)
    except library.UnknownEntry as exc:
        raise JobParameterError(fields={"sd_model_checkpoint": str(exc)}) from None
    with transaction.atomic():
        LibraryEntry.objects.filter(kind=Kind.PIPELINE, is_default=True).exclude(pk=entry.pk).update(is_default=False)
        LibraryEntry.objects.filter(pk=entry.pk).update(is_default=True)
    entry.refresh_from_db()
    return entry


def set_live(name: str | None) -> LibraryEntry | None:
    """Make the present pipeline ``name`` the one that paints live pictures (docs/live.md); None: no
    library model paints them (the procedural painter does on the embedded default, else none)."""
    entry = None
    if name is not None:
        try:
            entry = library.resolve_model(name)
        except library.UnknownEntry as exc:
            raise JobParameterError(fields={"model": str(exc)}) from None
    with transaction.atomic():
        others = LibraryEntry.objects.filter(live=True)
        if entry is not None:
            others = others.exclude(pk=entry.pk)
        others.update(live=False)
        if entry is not None:
            LibraryEntry.objects.filter(pk=entry.pk).update(live=True)
    if entry is not None:
        entry.refresh_from_db()
    return entry


# --- reading the folder -------------------------------------------------------------------------


def _walk(root: Path, skipped: list[tuple[str, str]]) -> list[Found]:
    found: list[Found] = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        folder_path = Path(folder)
        subfolders.sort()
        if "model_index.json" in files:
            # A pipeline's own files (unet/…safetensors) are not LoRAs. (GARDEN_MODELS_DIR may itself
            # be one pipeline folder: a library of one, at path ".".)
            subfolders[:] = []
            try:
                found.append(_pipeline(root, folder_path))
            except (OSError, ValueError) as exc:
                skipped.append((folder_path.relative_to(root).as_posix(), f"unreadable model_index.json: {exc}"))
            continue
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in sorted(files):
            if not name.endswith(".safetensors"):
                continue
            path = folder_path / name
            try:
                item = _weights_file(root, path)
            except Exception as exc:  # a truncated or foreign file: say so, keep scanning
                skipped.append((path.relative_to(root).as_posix(), f"unreadable: {exc}"))
                continue
            if item is None:
                skipped.append((path.relative_to(root).as_posix(), "neither LoRA nor embedding keys"))
            else:
                found.append(item)
    return found


def _unique_names(found: list[Found]) -> list[Found]:
    """Entries are called by folder or file stem; two of one kind with the same stem keep their paths."""
    stems: dict[tuple[str, str], int] = {}
    for item in found:
        stems[(item.kind, item.name)] = stems.get((item.kind, item.name), 0) + 1
    return [
        item if stems[(item.kind, item.name)] == 1 else Found(**{**item.__dict__, "name": item.path.removesuffix(".safetensors")})
        for item in found
    ]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _pipeline(root: Path, folder: Path) -> Found:
    index = json.loads((folder / "model_index.json").read_text())
    class_name = str(index.get("_class_name", ""))
    unet = _read_json(folder / "unet" / "config.json")
    scheduler = _read_json(folder / "scheduler" / "scheduler_config.json")
    readme = (folder / "README.md").read_text(errors="replace")[:20000].lower() if (folder / "README.md").is_file() else ""
    name = folder.name
    cross_attention = unet.get("cross_attention_dim")
    prediction = scheduler.get("prediction_type", "")
    if (
        "turbo" in name.lower()
        or "turbo" in class_name.lower()
        or "adversarial diffusion distillation" in readme
        or "turbo" in readme[:2000]
    ):
        family = Family.TURBO
    elif "XL" in class_name:
        family = Family.SDXL
    elif class_name.startswith("StableDiffusion") and (cross_attention == 1024 or prediction == "v_prediction"):
        family = Family.SD2
    elif class_name.startswith("StableDiffusion"):
        family = Family.SD1
    else:
        family = Family.OTHER
    details = {"class_name": class_name, "cross_attention_dim": cross_attention, "prediction_type": prediction}
    return Found(Kind.PIPELINE, name, folder.relative_to(root).as_posix(), family, _folder_size(folder), details)


def _weights_file(root: Path, path: Path) -> Found | None:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as weights:
        keys = list(weights.keys())
        metadata = weights.metadata() or {}
        shapes = {key: weights.get_slice(key).get_shape() for key in keys[:1]} if len(keys) == 1 else {}
    relative = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if any(marker in key for key in keys for marker in LORA_MARKERS):
        details = {"keys": len(keys)}
        for name in ("ss_base_model_version", "ss_sd_model_name", "ss_output_name"):
            if metadata.get(name):
                details[name.removeprefix("ss_")] = metadata[name]
        family = _lora_family(keys, metadata)
        return Found(Kind.LORA, path.stem, relative, family, size, details)
    embedding_keys = [key for key in keys if key in EMBEDDING_KEYS or key.startswith("string_to_param")]
    if embedding_keys:
        family = Family.SDXL if {"clip_l", "clip_g"} & set(keys) else Family.OTHER
        return Found(Kind.EMBEDDING, path.stem, relative, family, size, {"keys": keys[:8]})
    if shapes:
        shape = next(iter(shapes.values()))
        elements = 1
        for side in shape:
            elements *= side
        if len(shape) <= 2 and elements <= EMBEDDING_MAX_ELEMENTS:
            return Found(
                Kind.EMBEDDING, path.stem, relative, _width_family(shape[-1] if shape else 0), size, {"keys": keys, "shape": shape}
            )
    return None


def _width_family(width: int) -> str:
    return {768: Family.SD1, 1024: Family.SD2}.get(width, Family.OTHER)


def _lora_family(keys: list[str], metadata: dict) -> str:
    base = metadata.get("ss_base_model_version", "").lower()
    if "sdxl" in base or any(key.startswith(("lora_te2_", "text_encoder_2.")) for key in keys):
        return Family.SDXL
    if base.startswith("sd_v2") or base.startswith("sd_2"):
        return Family.SD2
    if base.startswith("sd_v1") or base.startswith("sd_1"):
        return Family.SD1
    return Family.OTHER
