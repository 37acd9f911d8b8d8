"""What served answers and picture files may say about the model: its name, never its server path.

A worker loads a library model from its file (``GenerationJob.model_id``, ``describe()["model_id"]``)
but a picture served to the public, its infotext and the API answers name it as the library does
(``name`` and A1111's short hash, generation.requests.model_files.identities). A hub id
(``org/name``) is no path and stays as it is.
"""

from __future__ import annotations

from pathlib import Path, PurePath


def model_id(value: str) -> str:
    """A hub id as it is; a file or folder of this server → its last part."""
    text = (value or "").strip()
    if not text:
        return text
    path = PurePath(text)
    looks_local = path.is_absolute() or text.startswith((".", "~")) or "\\" in text or text.count("/") > 1
    if looks_local or Path(text).exists():
        return path.name
    return text


def description(described: dict) -> dict:
    """A backend's ``describe()`` with its ``model_id`` served as ``model_id()`` says."""
    if "model_id" not in described:
        return described
    return {**described, "model_id": model_id(str(described["model_id"]))}
