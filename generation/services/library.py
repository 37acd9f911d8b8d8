"""The model library, write side: scan GARDEN_MODELS_DIR into LibraryEntry rows; choose the default.

What each file or folder is comes from generation.library_files (headers only, no torch; docs/models.md):
models (diffusers folders and single-file checkpoints), LoRAs, embeddings, VAEs and upscalers,
each with its family, whether this product can use it (and why not), its sha256 (computed once per
size and modification time) and where it was installed from. Rows the scan no longer finds stay,
marked ``present=False`` (jobs cannot use them); curators' defaults survive a rescan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from generation import library, library_files
from generation.library_files import Found
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
    Family.FLUX: (28, 3.5, 1024, 1024),  # FLUX.1-dev's; schnell paints in 4 steps without guidance
    Family.SD3: (28, 7.0, 1024, 1024),
    Family.PIXART: (20, 4.5, 1024, 1024),
}


class LibraryError(DomainError):
    """The models folder cannot be scanned (missing, not a folder)."""


@dataclass
class ScanResult:
    found: list[LibraryEntry] = field(default_factory=list)
    missing: list[LibraryEntry] = field(default_factory=list)  # rows no longer found
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)

    def summary(self) -> str:
        kinds = {kind: sum(entry.kind == kind for entry in self.found) for kind in Kind.values}
        text = f"{kinds['pipeline']} model(s), {kinds['lora']} LoRA(s), {kinds['embedding']} embedding(s)"
        text += f", {kinds['vae']} VAE(s), {kinds['upscaler']} upscaler(s)"
        unusable = [entry.name for entry in self.found if not entry.usable]
        if unusable:
            text += f"; not usable: {', '.join(unusable)}"
        if self.missing:
            text += f"; no longer found: {', '.join(entry.name for entry in self.missing)}"
        if self.skipped:
            text += f"; skipped {len(self.skipped)} file(s)"
        return text


def scan() -> ScanResult:
    """Walk GARDEN_MODELS_DIR and bring the library rows up to date."""
    root_setting = settings.GARDEN_MODELS_DIR
    if not root_setting:
        return ScanResult()
    root = Path(root_setting)
    if not root.is_dir():
        raise LibraryError(f"GARDEN_MODELS_DIR ({root}) is not a folder: create it, or set GARDEN_MODELS_DIR to the models folder.")
    result = ScanResult()
    found = _unique_names(library_files.walk(root, result.skipped))
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
            _describe(entry, item)
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


def _describe(entry: LibraryEntry, item: Found) -> None:
    """What the scan read into the row, with the file's identity (hashed again only if it changed)."""
    sha256, stamp = library_files.identity(item, entry.sha256, entry.details.get("hashed") if entry.details else None)
    entry.path, entry.family, entry.size_bytes = item.path, item.family, item.size_bytes
    entry.details = {**item.details, "hashed": stamp} if stamp else dict(item.details)
    entry.sha256, entry.short_hash = sha256, sha256[:10]
    entry.usable, entry.unusable_reason = item.usable, item.reason[:500]
    entry.source = str(item.source.get("source", ""))[:1000]


def _ensure_default_pipeline() -> None:
    """The first usable pipeline becomes the default when no usable one is (the default was removed)."""
    pipelines = LibraryEntry.objects.filter(kind=Kind.PIPELINE)
    if pipelines.filter(is_default=True, present=True, usable=True).exists():
        return
    first = pipelines.filter(present=True, usable=True).order_by("name").first()
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


def set_default_vae(entry: LibraryEntry, name: str) -> None:
    """The VAE jobs on the pipeline ``entry`` use when they name none ("": the pipeline's own)."""
    LibraryEntry.objects.filter(pk=entry.pk).update(default_vae=name)


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


# --- naming ---------------------------------------------------------------------------------------


def _unique_names(found: list[Found]) -> list[Found]:
    """Entries are called by folder or file stem; two of one kind with the same stem keep their paths."""
    stems: dict[tuple[str, str], int] = {}
    for item in found:
        stems[(item.kind, item.name)] = stems.get((item.kind, item.name), 0) + 1
    return [
        item if stems[(item.kind, item.name)] == 1 else Found(**{**item.__dict__, "name": str(Path(item.path).with_suffix(""))})
        for item in found
    ]
