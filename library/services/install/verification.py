"""What a staged download is, and whether it is a model at all, before it goes into the library.

A file is what the scan would list it as (library.files.weights_file, which reads the
safetensors header through library.checkpoints or a torch zip's names and shapes): one definition
of what a file is, shared with the scan. The install adds only what the scan cannot know: that the
bytes are all there (a download's tensors must lie within the file), that an HTML page is no model,
and which folder a file the header does not name goes into (vae/, upscalers/), where the scan then
lists it by its folder.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

from library import checkpoints
from library import files as library_files
from library.models import LibraryEntry
from library.services.install.errors import InstallError
from library.services.install.staging import named_with_suffix

Kind = LibraryEntry.Kind
# The scan's kind → the install's (a model in one file is installed as a "checkpoint").
INSTALL_KINDS = {"pipeline": "checkpoint", "lora": "lora", "embedding": "embedding", "vae": "vae", "upscaler": "upscaler"}
# Key prefixes of what the header alone does not name, which the scan lists by its folder.
VAE_ENCODER_PREFIXES = ("encoder.", "first_stage_model.")
VAE_DECODER_PREFIXES = ("decoder.", "first_stage_model.decoder.")
UPSCALER_PREFIXES = ("conv_first.", "body.", "model.0.", "RRDB_trunk.", "conv_body.", "conv_up1.", "layers.0.residual_group.", "upconv1.")


def is_html(first: bytes) -> bool:
    head = first[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<!--")) or b"<html" in head


def file_kind(path: Path, filename: str, kind: str = "") -> str:
    """The install kind of one staged weights file: ``kind`` when given, else what the scan would
    list it as. InstallError when it is no model file the library reads, or the scan would skip it."""
    suffix = Path(filename).suffix.lower() or ".safetensors"  # a name without a suffix is read as safetensors
    with path.open("rb") as handle:
        first = handle.read(512)
    if is_html(first):
        raise InstallError(f"not a model: {filename} is an HTML page.")
    readable = ", ".join(library_files.WEIGHT_FILES)
    if suffix in library_files.PICKLES and suffix not in library_files.WEIGHT_FILES:
        raise InstallError(f"not a model the library reads: {filename} ({suffix}); the library takes {readable} files.")
    if suffix not in library_files.WEIGHT_FILES:
        raise InstallError(f"not a model: {filename} is not a {readable} file.")
    if suffix in library_files.PICKLES:
        if not (first.startswith(b"PK\x03\x04") or first[:1] == b"\x80"):
            raise InstallError(f"not a model: {filename} is neither a torch zip nor a pickle.")
        keys: list[str] = []
    else:
        keys = list(_complete_safetensors(path, filename).shapes)
    with named_with_suffix(path, suffix) as named:
        found = _as_the_scan_sees_it(named, filename, role=kind if kind in (Kind.VAE, Kind.UPSCALER) else "")
        if found is None and not kind:
            role = _folder_by_name_or_keys(filename, keys)
            found = _as_the_scan_sees_it(named, filename, role=role) if role else None
    if found is None:
        raise InstallError(f"not a model: {filename} is not a model, LoRA, embedding, VAE or upscaler the library reads.")
    return kind or INSTALL_KINDS[str(found.kind)]


def folder_kind(folder: Path) -> str:
    if (folder / "model_index.json").is_file():
        return "pipeline"
    config = folder / "config.json"
    if config.is_file():
        with contextlib.suppress(OSError, ValueError):
            if "Autoencoder" in str(json.loads(config.read_text()).get("_class_name", "")):
                return "vae"
    raise InstallError(f"not a model: the folder {folder.name} holds no model_index.json (a diffusers folder) or VAE config.json.")


def _complete_safetensors(path: Path, filename: str) -> checkpoints.Header:
    """The header of a safetensors file whose tensors all lie within it (not truncated)."""
    try:
        header = checkpoints.read_header(path)
    except checkpoints.HeaderError as exc:
        raise InstallError(f"not a model: {filename} has no readable safetensors header ({exc}).") from None
    if not header.shapes:
        raise InstallError(f"not a model: {filename} holds no tensors.")
    data = path.stat().st_size - header.data_start
    for key, offsets in header.offsets.items():
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(offset, int) for offset in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data
        ):
            raise InstallError(f"not a model: {filename} is truncated or damaged (tensor {key} lies beyond its end).")
    return header


def _as_the_scan_sees_it(path: Path, filename: str, *, role: str) -> library_files.Found | None:
    """The scan's entry for the file in a folder of ``role`` (vae/, upscalers/ or another: "")."""
    try:
        return library_files.weights_file(path.parent, path, role)
    except Exception as exc:  # a foreign or damaged file, as the scan's walk reports it
        raise InstallError(f"not a model the library reads: {filename} is unreadable ({exc}).") from None


def _folder_by_name_or_keys(filename: str, keys: list[str]) -> str:
    """vae/ or upscalers/ for a file its header does not name, by its name or its key names ("": neither)."""
    lowered = filename.lower()
    if "esrgan" in lowered or re.search(r"(^|[^0-9])[248]x", lowered):
        return Kind.UPSCALER
    if ".vae." in lowered or Path(lowered).stem.endswith("vae"):
        return Kind.VAE
    if any(key.startswith(VAE_ENCODER_PREFIXES) for key in keys) and any(key.startswith(VAE_DECODER_PREFIXES) for key in keys):
        return Kind.VAE
    if any(key.startswith(UPSCALER_PREFIXES) for key in keys):
        return Kind.UPSCALER
    return ""
