"""The model library, write side: scan GARDEN_MODELS_DIR into LibraryEntry rows; choose the default.

What each file or folder is comes from library.files (headers only, no torch; docs/models.md):
models (diffusers folders and single-file checkpoints), LoRAs, embeddings, VAEs, upscalers, and
the retouch engine's ControlNet and tagger folders, each with its family, whether this product can
use it (and why not), its sha256 (computed once per size and modification time) and where it was
installed from. Rows the scan no longer finds stay,
marked ``present=False`` (jobs cannot use them); curators' defaults survive a rescan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from library import completeness, manifests
from library import files as library_files
from library import selectors as library
from library.files import Found
from library.models import LibraryEntry
from library.services import copies

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


Identity = tuple[str, list[int], "manifests.Manifest | None"]  # a file's sha256 and stamp; a folder's manifest
STILL_BEING_WRITTEN = "still being written: offered once it holds still"


class LibraryError(DomainError):
    """The models folder cannot be scanned (missing, not a folder)."""


class EntryRefused(DomainError):
    """A model chosen by name (the default, the live model) that the library cannot offer now;
    ``fields`` names the field the caller read it from (a 400 for API clients)."""


SKIPPED_NAMED = 5  # skipped files a scan's summary names (the rest are counted)


@dataclass
class ScanResult:
    found: list[LibraryEntry] = field(default_factory=list)
    missing: list[LibraryEntry] = field(default_factory=list)  # rows no longer found
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)
    # What this scan changed, by name ("name" for models, "name (kind)" for the rest).
    added: list[str] = field(default_factory=list)  # new entries, and entries whose file is back
    changed: list[str] = field(default_factory=list)  # another file, size, family, or usability
    lost: list[str] = field(default_factory=list)  # entries whose file is gone
    settling: list[str] = field(default_factory=list)  # files still being written (relative paths): listed not usable
    default_note: str = ""  # what became of the default model, when this scan changed it

    def summary(self) -> str:
        kinds = {kind: sum(entry.kind == kind for entry in self.found) for kind in Kind.values}
        text = f"{kinds['pipeline']} model(s), {kinds['lora']} LoRA(s), {kinds['embedding']} embedding(s)"
        text += f", {kinds['vae']} VAE(s), {kinds['upscaler']} upscaler(s)"
        if kinds["controlnet"] or kinds["tagger"]:  # the retouch models, named when a folder has them
            text += f", {kinds['controlnet']} ControlNet(s), {kinds['tagger']} tagger(s)"
        unusable = [entry.name for entry in self.found if not entry.usable]
        if unusable:
            text += f"; not usable: {', '.join(unusable)}"
        if self.missing:
            text += f"; no longer found: {', '.join(entry.name for entry in self.missing)}"
        if self.skipped:  # named, with why, so that the operator knows which file to look at
            named = ", ".join(f"{path} ({why})" for path, why in self.skipped[:SKIPPED_NAMED])
            more = (
                f" and {len(self.skipped) - SKIPPED_NAMED} more (manage.py scan_models lists them)"
                if len(self.skipped) > SKIPPED_NAMED
                else ""
            )
            text += f"; skipped {len(self.skipped)} file(s): {named}{more}"
        return text

    def changes(self) -> str:
        """What this scan changed, by name ("no change" when nothing did), then the default's news."""
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("added", self.added), ("changed", self.changed), ("lost", self.lost), ("still being written", self.settling)
            )
            if names
        ]  # fmt: skip
        text = "; ".join(parts) or "no change"
        return f"{text}. {self.default_note}" if self.default_note else text


def scan() -> ScanResult:
    """Walk GARDEN_MODELS_DIR and bring the library rows up to date.

    Each file is looked at twice (when the walk finds it, and again once its header is read and,
    if it is new or changed, hashed): one that changed meanwhile is still being written. It is
    listed not usable, without a hash, as is a file shorter than its header says (cut short, or
    still being copied); a later scan offers and hashes it once it is whole and holds still.
    Hashing happens before the rows are written, outside the transaction.
    """
    root_setting = settings.GARDEN_MODELS_DIR
    if not root_setting:
        return ScanResult()
    root = Path(root_setting)
    if not root.is_dir():
        raise LibraryError(f"GARDEN_MODELS_DIR ({root}) is not a folder: create it, or set GARDEN_MODELS_DIR to the models folder.")
    result = ScanResult()
    found = _unique_names(library_files.walk(root, result.skipped))
    rows = {(entry.kind, entry.name): entry for entry in LibraryEntry.objects.all()}
    listed: list[tuple[Found, Identity]] = []
    elsewhere: set[tuple[str, str]] = set()  # being written here, whole on another host or in the store
    for item in found:
        row = rows.get((item.kind, item.name))
        identity = _settled_identity(root, item, row)
        if identity is None and row is not None and row.present and row.usable and copies.held_elsewhere(row):
            result.settling.append(item.path)
            elsewhere.add((item.kind, item.name))
            continue
        if identity is None:  # listed, never offered, and not hashed until it holds still
            result.settling.append(item.path)
            item, identity = replace(item, usable=False, reason=item.reason if not item.whole else STILL_BEING_WRITTEN), ("", [], None)
        listed.append((item, identity))
    now = timezone.now()
    with transaction.atomic():
        before_default = library.default_state()
        seen: set[tuple[str, str]] = set()
        for item, identity in listed:
            entry = rows.get((item.kind, item.name))
            before = _snapshot(entry)
            if entry is None:
                entry = _new_entry(item)
            _describe(entry, item, identity)
            entry.present, entry.missing_since, entry.scanned_at = True, None, now
            after = _snapshot(entry)
            if after != before:
                entry.save()
                if before is None or not before[0]:
                    result.added.append(_label(entry))
                else:
                    result.changed.append(_label(entry))
            seen.add((entry.kind, entry.name))
            result.found.append(entry)
        LibraryEntry.objects.filter(pk__in=[entry.pk for entry in result.found]).update(scanned_at=now)
        copies.record_found([entry for entry in result.found if (entry.kind, entry.name) not in elsewhere], now)
        for entry in LibraryEntry.objects.filter(present=True):
            if (entry.kind, entry.name) not in seen | elsewhere:
                copies.drop(entry)  # this host's copy only: another host's, or the store's, keeps it present
                if copies.held_elsewhere(entry):
                    continue
                entry.present, entry.missing_since = False, now
                entry.save(update_fields=["present", "missing_since"])
                result.missing.append(entry)
                result.lost.append(_label(entry))
        result.default_note = _default_news(before_default)
        defaults = set(LibraryEntry.objects.filter(is_default=True).values_list("pk", flat=True))
        for entry in result.found:
            entry.is_default = entry.pk in defaults
    log.info("model library scanned: %s; %s", result.summary(), result.changes())
    return result


def _settled_identity(root: Path, item: Found, entry: LibraryEntry | None) -> Identity | None:
    """The item's (sha256, stamp, manifest) once it held still between the walk's look and this one
    (and, when it was hashed now, after the hash); None while it is being written. A file cut short
    holds still and has no hash (library.files.identity); a whole folder has a manifest of its
    files by hash (library.manifests), a file none."""
    path = root / item.path
    try:
        if completeness.stamp_of(path) != item.stamp:
            return None
        sha256, stamp = library_files.identity(item, entry.sha256 if entry else "", (entry.details or {}).get("hashed") if entry else None)
        manifest = None
        if item.file is None and item.whole and item.path != ".":
            manifest = manifests.of_folder(root, item.path)
        if (stamp or manifest is not None) and completeness.stamp_of(path) != item.stamp:
            return None
    except OSError:  # removed between the looks
        return None
    return sha256, stamp, manifest


def _snapshot(entry: LibraryEntry | None) -> tuple | None:
    """What a scan compares to tell a change (a touched but identical file is no change)."""
    if entry is None:
        return None
    details = {key: value for key, value in (entry.details or {}).items() if key != "hashed"}
    return (
        entry.present,
        entry.path,
        entry.family,
        entry.size_bytes,
        entry.sha256,
        entry.manifest_sha256,
        entry.usable,
        entry.unusable_reason,
        entry.source,
        details,
    )


def _label(entry: LibraryEntry) -> str:
    return entry.name if entry.kind == Kind.PIPELINE else f"{entry.name} ({entry.kind})"


def _new_entry(item: Found) -> LibraryEntry:
    steps, guidance, width, height = FAMILY_DEFAULTS.get(item.family, (None, None, None, None))
    pipeline = item.kind == Kind.PIPELINE
    return LibraryEntry(
        kind=item.kind,
        name=item.name,
        default_steps=steps if pipeline else None,
        default_guidance=guidance if pipeline else None,
        default_width=width if pipeline else None,
        default_height=height if pipeline else None,
    )


def _describe(entry: LibraryEntry, item: Found, identity: Identity) -> None:
    """What the scan read into the row, with the file's identity (hashed again only if it changed)."""
    sha256, stamp, manifest = identity
    manifest_sha256 = manifests.digest_of(manifest) if manifest is not None else ""
    if sha256 != entry.sha256 or manifest_sha256 != entry.manifest_sha256:
        entry.stored_at = None  # another file: the store holds the old one (if any), not this
    entry.path, entry.family, entry.size_bytes = item.path, item.family, item.size_bytes
    entry.details = {**item.details, "hashed": stamp} if stamp else dict(item.details)
    if manifest is not None:
        entry.details["files"] = manifest
    entry.manifest_sha256 = manifest_sha256
    entry.sha256, entry.short_hash = sha256, sha256[:10]
    entry.usable, entry.unusable_reason = item.usable, item.reason[:500]
    entry.source = str(item.source.get("source", ""))[:1000]


def _default_news(before: library.DefaultModel) -> str:
    """The default is chosen by name and kept while its file is gone: a stand-in paints meanwhile,
    and the file's return makes it the default again. Only a library with no chosen default gets
    one chosen (the first usable model by name). One sentence when this scan changed any of that."""
    pipelines = LibraryEntry.objects.filter(kind=Kind.PIPELINE)
    if not pipelines.filter(is_default=True).exists():
        first = next((entry for entry in library.pipelines() if not library.why_unusable(entry)), None)
        if first is None:
            return ""
        pipelines.filter(pk=first.pk).update(is_default=True)
        return f"{first.name} is the default model now (no model was the default)."
    after = library.default_state()
    if after.chosen is None or (before.chosen_reason == after.chosen_reason and _pk(before.used) == _pk(after.used)):
        return ""
    if not after.chosen_reason:
        return f"The default model {after.chosen.name} is back: jobs that name no model paint with it again."
    return after.problem


def _pk(entry: LibraryEntry | None):
    return entry.pk if entry is not None else None


def set_default(name: str) -> LibraryEntry:
    """Make the present pipeline ``name`` (or A1111 title ``"name [hash]"``) the one jobs use by default."""
    try:
        entry = library.resolve_model(name)
    except library.UnknownEntry as exc:
        raise EntryRefused(fields={"sd_model_checkpoint": str(exc)}) from None
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
            raise EntryRefused(fields={"model": str(exc)}) from None
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
