"""Into place: a checked download moved into the library with one rename, its sidecar record beside
it, then the library rescanned.

The sidecar (``X.safetensors.source.json``, or ``<folder>/.source.json``) records where it came
from; the scan reads it into ``LibraryEntry.source`` and reuses its sha256 while the file's size and
modification time match (library.files.identity).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError

from config.errors import DomainError
from library.models import LibraryEntry
from library.services.install import expression_model
from library.services.install.errors import InstallError
from library.services.install.staging import STAGING, Fetched, models_root, remove
from library.services.install.verification import file_kind, folder_kind

# Install kind → folder under GARDEN_MODELS_DIR ("" the top: checkpoints and pipelines).
KIND_FOLDERS = {
    "checkpoint": "",
    "pipeline": "",
    "lora": "loras",
    "embedding": "embeddings",
    "vae": "vae",
    "upscaler": "upscalers",
    "expression": "expression",
}
KINDS = tuple(KIND_FOLDERS)
# What messages call an install of these kinds (the glossary's words: docs/development.md#glossary).
KIND_WORDS = {"checkpoint": "model (checkpoint)", "pipeline": "model (diffusers folder)", "expression": "expression model"}
ENTRY_NAME = re.compile(r"^[\w][\w .+@-]{0,150}$")


@dataclass
class Installed:
    path: Path  # where it now is (a file or a folder)
    kind: str
    source: str
    revision: str = ""
    sha256: str = ""  # files only
    size: int = 0
    entry: Any = None  # the LibraryEntry the rescan made of it, when it made one
    scan_note: str = ""  # what the rescan said about it when it made no usable entry
    settings_lines: list[str] = field(default_factory=list)  # expression models: the settings to set

    @property
    def relative(self) -> str:
        return self.path.relative_to(models_root()).as_posix()

    @property
    def what(self) -> str:
        """``model (checkpoint) sd15.safetensors``, ``lora loras/ink.safetensors``: what and where."""
        return f"{KIND_WORDS.get(self.kind, self.kind)} {self.relative}"


@dataclass(frozen=True)
class Options:
    """What install() was asked (its keyword arguments) and the Hub commit it fetched, for the placement."""

    source: str
    name: str = ""
    kind: str = ""
    revision: str = ""
    force: bool = False
    rescan: bool = True


def place(fetched: Fetched, root: Path, options: Options, expression: expression_model.ExpressionSettings) -> Installed:
    """Check what ``fetched`` is, name it, and move it with its sidecar into its kind's folder."""
    is_file = fetched.is_file
    filename = fetched.filename
    kind = options.kind
    if kind == "expression":
        expression_model.check_file(is_file, filename)
    elif is_file:
        kind = file_kind(fetched.path, filename, kind)
        if not Path(filename).suffix:
            filename += ".safetensors"  # read as one by file_kind
        if kind == "pipeline":
            kind = "checkpoint"
    else:
        detected = folder_kind(fetched.path)
        kind = kind if kind == "vae" else detected
    suffix = Path(filename).suffix if is_file else ""
    destination = root / KIND_FOLDERS[kind] / (entry_name(options.name, filename, suffix, is_file) + suffix)
    sidecar = destination.with_name(destination.name + ".source.json") if is_file else destination / ".source.json"
    if destination.exists() and not options.force:
        raise InstallError.naming(
            "{installed} is already installed; {force} replaces it.", installed=destination.relative_to(root).as_posix()
        )
    if is_file and kind != "expression":
        refuse_a_second_copy(fetched.sha256, destination.relative_to(root).as_posix(), options.source)
    settings_lines: list[str] = []
    if kind == "expression":
        settings_lines = expression_model.check_model(fetched.path, destination, expression)
    stat = fetched.path.stat()
    size = stat.st_size if is_file else fetched.size
    record: dict[str, Any] = {
        "source": options.source,
        "revision": options.revision or None,
        "sha256": fetched.sha256 if is_file else None,
        "size": size,
        "mtime_ns": stat.st_mtime_ns,
        "installed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kind": kind,
    }
    _move_into_place(fetched.path, destination, sidecar, record, root)
    installed = Installed(
        destination,
        kind,
        options.source,
        revision=options.revision,
        sha256=fetched.sha256 if is_file else "",
        size=size,
        settings_lines=settings_lines,
    )
    if kind == "expression" and expression.classes:
        expression_model.write_class_map(destination, settings_lines)
    if options.rescan and kind != "expression":
        _rescan(installed, root)
    return installed


def refuse_a_second_copy(sha256: str, relative: str, source: str) -> None:
    """The library keeps one copy of a file: a download whose sha256 a present entry has (other
    than the one at ``relative``, which it replaces) is refused; the caller removes what it fetched."""
    twin = LibraryEntry.objects.filter(sha256=sha256, present=True).exclude(path=relative).first() if sha256 else None
    if twin is not None:
        raise InstallError(
            f"{source}: not installed, the library has this file already as {twin.name} ({twin.kind_word}, {twin.path}; "
            f"sha256 {sha256}); the download was removed."
        )


def entry_name(name: str, filename: str, suffix: str, is_file: bool) -> str:
    """The name asked for (less the suffix), else the file's stem or the folder's name with the
    characters a name may not hold made "-"."""
    if name:
        final_name = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
    else:
        final_name = re.sub(r"[^\w .+@-]+", "-", Path(filename).stem if is_file else filename).strip(" .-")[:150]
    if not ENTRY_NAME.match(final_name) or final_name.startswith("."):
        raise InstallError.naming("cannot name the entry {asked!r}: give {name}.", asked=final_name)
    return final_name


def _move_into_place(staged: Path, destination: Path, sidecar: Path, record: dict[str, Any], root: Path) -> None:
    """The record beside the staged model, then both into place with os.replace (same file system);
    with --force the installed one goes aside first, and away once the new one is in."""
    is_file = staged.is_file()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged_sidecar = staged.with_name(staged.name + ".source.json") if is_file else staged / ".source.json"
    staged_sidecar.write_text(json.dumps(record, indent=2) + "\n")
    old = None
    try:
        if destination.exists():
            old = root / STAGING / f"replaced-{int(time.time())}-{destination.name}"
            os.replace(destination, old)
            with contextlib.suppress(FileNotFoundError):
                os.replace(sidecar, old.with_name(old.name + ".source.json"))
        os.replace(staged, destination)
        if is_file:
            os.replace(staged_sidecar, sidecar)
    except OSError as exc:
        raise InstallError(f"cannot move the model into {destination.parent}: {exc}.") from None
    finally:
        if old is not None:
            remove(old, old.with_name(old.name + ".source.json"))
        remove(staged_sidecar)


def _rescan(installed: Installed, root: Path) -> None:
    from library.services import follow as library_follow

    try:
        result = library_follow.scan_now("install")
    except (DomainError, DatabaseError) as exc:
        installed.scan_note = f"installed, but the rescan failed ({type(exc).__name__}: {exc}); run manage.py scan_models"
        return
    relative = installed.path.relative_to(root).as_posix()
    for entry in result.found:
        if entry.path == relative:
            installed.entry = entry
            if getattr(entry, "usable", True) is False:
                installed.scan_note = f"listed as not usable: {getattr(entry, 'unusable_reason', '')}"
            return
    for path, why in result.skipped:
        if path == relative or path.startswith(relative + "/"):
            installed.scan_note = f"the scan skipped it: {why}"
            return
    installed.scan_note = "the scan made no entry of it"
