"""Whether a file of the models folder is whole, and whether it held still between two looks.

Torch-free and cheap (the web tier scans): a safetensors header states every tensor's byte range,
a torch zip keeps its directory at its end, a diffusers folder names its components in
model_index.json; sizes and modification times tell a file still being written, and the whole
folder's (``fingerprint``) tells each process's periodic look whether to scan at all.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from library import checkpoints


def fingerprint(root: Path | str) -> str:
    """A digest of every file's path, size and modification time under ``root`` (dot-folders left
    out): it changes when a file is added, replaced, grows or goes. No file is opened."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            digest.update(f"{os.path.relpath(os.path.join(folder, name), root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def stamp_of(path: Path) -> tuple:
    """(size, modification time) of a file; (total size, newest modification time, file count) of a
    folder. A file being written changes it between two looks: the scan lists it only once it holds still."""
    if path.is_dir():
        stats = [item.stat() for item in path.rglob("*") if item.is_file()]
        return (sum(stat.st_size for stat in stats), max((stat.st_mtime_ns for stat in stats), default=0), len(stats))
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns)


def safetensors_shortfall(path: Path, header: checkpoints.Header) -> str:
    """Why a safetensors file is incomplete ("" when it is not): its header states each tensor's
    byte range, and a file shorter than the end of the last one was cut short or is still being copied."""
    ends = [offsets[1] for offsets in header.offsets.values() if isinstance(offsets, list) and len(offsets) == 2]
    if not all(isinstance(end, int) for end in ends):
        return "damaged: its header's data_offsets are not byte positions"
    needed, size = header.data_start + max(ends, default=0), path.stat().st_size
    if size < needed:
        return f"incomplete: its header says {needed} bytes, the file has {size} (cut short, or still being copied)"
    return ""


def folder_shortfall(folder: Path, index: dict) -> str:
    """Why a diffusers folder is incomplete ("" when it is not): a component model_index.json names
    is missing, or one of its safetensors files is shorter than its header says."""
    for component, value in index.items():
        if component.startswith("_") or not (isinstance(value, list) and value and value[0]):
            continue
        if not (folder / component).is_dir():
            return f"incomplete: {component}/, named in model_index.json, is missing"
    for weights in sorted(folder.glob("*/*.safetensors")):
        try:
            why = safetensors_shortfall(weights, checkpoints.read_header(weights))
        except checkpoints.HeaderError as exc:
            why = f"unreadable ({exc})"
        if why:
            return f"{weights.relative_to(folder).as_posix()} is {why}"
    return ""


def broken_zip(path: Path) -> bool:
    """A torch zip checkpoint (it starts as a zip) whose directory, at the end, cannot be read."""
    with open(path, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            return False
    try:
        with zipfile.ZipFile(path):
            return False
    except (zipfile.BadZipFile, OSError, ValueError):
        return True
