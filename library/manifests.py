"""A diffusers folder as files by hash plus a manifest (as the Hugging Face cache keeps blobs and snapshots).

A folder's manifest lists each of its files (dot-named files and folders left out: install records,
this host's own notes) as ``[relative path, sha256, size]``, sorted by path. Its canonical bytes
(``encode``) are themselves stored under their sha256, which is the folder's identity
(``LibraryEntry.manifest_sha256``): two folders sharing a component (the same text encoder file)
name the same blob, and the store holds it once.

Hashing a folder reads every byte once; the result is kept per host (``.garden/manifests/``,
keyed by the folder's path, with the folder's stamp: total size, newest modification time, file
count) so that a folder that did not change is not hashed again, and a folder a fetch rebuilt is
known without hashing (``remember``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from library import completeness

Manifest = list[list]  # [[relative path, sha256, size], …]
WORK = ".garden"


def files_of(folder: Path) -> list[Path]:
    """The folder's files that belong to the model (dot-named files and folders left out), by path."""
    found = []
    for current, subfolders, names in os.walk(folder, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        found += [Path(current) / name for name in names if not name.startswith(".")]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def build(folder: Path) -> Manifest:
    """Every file's path, sha256 and size (every byte read once)."""
    manifest = []
    for path in files_of(folder):
        with open(path, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        manifest.append([path.relative_to(folder).as_posix(), digest, path.stat().st_size])
    return manifest


def encode(manifest: Manifest) -> bytes:
    """The manifest's canonical bytes: the same files give the same bytes, hence the same sha256."""
    return json.dumps({"files": manifest}, separators=(",", ":"), sort_keys=True).encode()


def digest_of(manifest: Manifest) -> str:
    return hashlib.sha256(encode(manifest)).hexdigest()


def decode(data: bytes) -> Manifest:
    return [list(item) for item in json.loads(data)["files"]]


def blobs(manifest: Manifest) -> dict[str, int]:
    """Each distinct file of the manifest once: sha256 → size."""
    return {sha256: size for _, sha256, size in manifest}


def _note(root: Path, relative: str) -> Path:
    return root / WORK / "manifests" / (hashlib.sha256(relative.encode()).hexdigest() + ".json")


def remember(root: Path, relative: str, manifest: Manifest) -> None:
    """Keep the folder's manifest with its stamp now (a host whose folder is read-only keeps none)."""
    note = _note(root, relative)
    with contextlib.suppress(OSError):
        note.parent.mkdir(parents=True, exist_ok=True)
        stamp = list(completeness.stamp_of(root / relative))
        temporary = note.with_name(f"{note.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"stamp": stamp, "files": manifest}))
        os.replace(temporary, note)


def of_folder(root: Path, relative: str) -> Manifest:
    """The folder's manifest: this host's note when the folder did not change since, else hashed now."""
    folder = root / relative
    stamp = list(completeness.stamp_of(folder))
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        note = json.loads(_note(root, relative).read_text())
        if note["stamp"] == stamp:
            return [list(item) for item in note["files"]]
    manifest = build(folder)
    remember(root, relative, manifest)
    return manifest
