"""The folders the retouch engine's ControlNets and the tagger load, as their settings name them.

A setting names a **library entry** (``controlnet/<name>/``, ``tagger/<name>/`` under
GARDEN_MODELS_DIR: docs/models.md#the-folder), whose folder reaches this host through
``library.cache.local_path``: fetched from the model store when this host lacks it, by hash,
once per host, evicted by the cache's rule. An **absolute path** is the settings' older form and
is used as it is (a folder every host has at that path; nothing is fetched).

This module is the one reader of those settings' values that opens what they name
(tests/config/test_library_door.py); the others only show them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from library import cache as library_cache
from library import selectors as library
from library.models import LibraryEntry

CONTROLNET_SETTINGS = {"lineart": "GARDEN_RETOUCH_LINEART_CONTROLNET", "canny": "GARDEN_RETOUCH_CANNY_CONTROLNET"}
TAGGER_SETTING = "GARDEN_RETOUCH_TAGGER_MODEL"
Progress = Callable[[int, int], None]
ProgressFor = Callable[[str], Progress | None]  # an entry's name → its fetch's progress


def value_of(setting: str) -> str:
    return str(getattr(settings, setting) or "").strip()


def is_folder_path(value: str) -> bool:
    """The older form: an absolute folder, used as it is."""
    return Path(value).expanduser().is_absolute()


def entry_for(setting: str) -> LibraryEntry | None:
    """The library entry the setting names (None: unset, or an absolute folder); the library's
    UnknownEntry or UnusableEntry when it cannot be used."""
    value = value_of(setting)
    if not value or is_folder_path(value):
        return None
    if setting == TAGGER_SETTING:
        return library.resolve_tagger(value)
    return library.resolve_controlnet(value)


def problem(setting: str) -> str:
    """Why the folder the setting names cannot be used now ("" when it can, or is unset); a folder
    path is checked on the host that loads it."""
    try:
        entry_for(setting)
    except library.UnknownEntry as exc:
        return f"{setting} names {value_of(setting)!r}, which cannot be used: {exc}"
    return ""


def folder(setting: str, progress_for: ProgressFor | None = None) -> str:
    """The folder on this host ("" when unset): the entry's, fetched onto this host when it lacks it."""
    value = value_of(setting)
    entry = entry_for(setting)
    if entry is None:
        return str(Path(value).expanduser()) if value else ""
    if not settings.GARDEN_MODELS_DIR:  # a web host without a folder has nowhere to fetch it to
        raise library_cache.CacheFull(
            f"{setting} names the library's {entry.name}, and GARDEN_MODELS_DIR is empty on this host: "
            "set it to a folder this host may write, which holds what it fetches from the model store"
        )
    return str(library_cache.local_path(entry, progress_for(entry.name) if progress_for else None))


def shown_name(setting: str) -> str:
    """What lists call the configured model: the entry's name, or an absolute folder's last part."""
    value = value_of(setting)
    return (Path(value).name or value) if is_folder_path(value) else value


def identity(setting: str) -> str:
    """What the loaded model is: an entry's content hash (a replaced folder is loaded again), or the path."""
    entry = entry_for(setting)
    return f"{value_of(setting)} {entry.content_sha256}" if entry is not None else value_of(setting)
