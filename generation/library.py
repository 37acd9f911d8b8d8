"""The model library, read side: the pipelines, LoRAs and embeddings found under GARDEN_MODELS_DIR.

Rows are written by the scan (generation.services.library); only entries the last scan found
(``present``) count. With GARDEN_MODELS_DIR empty there is no library: every list is empty and
jobs use GARDEN_DIFFUSION_MODEL alone (docs/models.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext

from generation.models import LibraryEntry

Kind = LibraryEntry.Kind
# A1111 clients name a checkpoint by its title, "name [hash]": the bracket is not part of the name.
_TITLE_HASH = re.compile(r"\s*\[[^\[\]]*\]\s*$")


class UnknownEntry(LookupError):
    """No present library entry of that kind has that name; the message lists the known names."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        # One whole sentence per kind: the word order differs between languages.
        messages = {
            Kind.PIPELINE: gettext("Unknown model %(name)s: the library has %(known)s."),
            Kind.LORA: gettext("Unknown LoRA %(name)s: the library has %(known)s."),
            Kind.EMBEDDING: gettext("Unknown embedding %(name)s: the library has %(known)s."),
            Kind.VAE: gettext("Unknown VAE %(name)s: the library has %(known)s."),
            Kind.UPSCALER: gettext("Unknown upscaler %(name)s: the library has %(known)s."),
        }
        listed = ", ".join(known) if known else gettext("none (set GARDEN_MODELS_DIR and run manage.py scan_models)")
        super().__init__(messages[kind] % {"name": repr(name), "known": listed})


def enabled() -> bool:
    return bool(settings.GARDEN_MODELS_DIR)


def entries(kind: str) -> QuerySet[LibraryEntry]:
    """The present entries of ``kind`` that this product can use, by name (none without a library).
    Entries the scan marked not usable (a family or format it cannot run) are listed in the admin
    and by scan_models with their reason, never offered to jobs."""
    if not enabled():
        return LibraryEntry.objects.none()
    return LibraryEntry.objects.filter(kind=kind, present=True, usable=True).order_by("name")


def pipelines() -> QuerySet[LibraryEntry]:
    return entries(Kind.PIPELINE)


def loras() -> QuerySet[LibraryEntry]:
    return entries(Kind.LORA)


def embeddings() -> QuerySet[LibraryEntry]:
    return entries(Kind.EMBEDDING)


def vaes() -> QuerySet[LibraryEntry]:
    return entries(Kind.VAE)


def upscalers() -> QuerySet[LibraryEntry]:
    return entries(Kind.UPSCALER)


def default_pipeline() -> LibraryEntry | None:
    """The pipeline jobs use when they name none: the default one, else the first present; None
    without a library (GARDEN_DIFFUSION_MODEL then)."""
    found = pipelines()
    return found.filter(is_default=True).first() or found.first()


def strip_title(name: str) -> str:
    """``"sdxl-base [31e35c80fc]"`` → ``"sdxl-base"`` (A1111's checkpoint title)."""
    return _TITLE_HASH.sub("", name.strip())


def _resolve(kind: str, name: str) -> LibraryEntry:
    found = entries(kind)
    entry = found.filter(name=name).first()
    if entry is None:
        raise UnknownEntry(kind, name, list(found.values_list("name", flat=True)))
    return entry


def resolve_model(name: str) -> LibraryEntry:
    """The present pipeline called ``name`` or titled ``"name [hash]"``; UnknownEntry otherwise."""
    return _resolve(Kind.PIPELINE, strip_title(name))


def resolve_lora(name: str) -> LibraryEntry:
    return _resolve(Kind.LORA, name.strip())


def resolve_vae(name: str) -> LibraryEntry:
    return _resolve(Kind.VAE, strip_title(name))


def resolve_upscaler(name: str) -> LibraryEntry:
    return _resolve(Kind.UPSCALER, name.strip())


def absolute_path(entry: LibraryEntry) -> Path:
    return Path(settings.GARDEN_MODELS_DIR) / entry.path


def embeddings_in(prompt: str) -> list[tuple[str, str]]:
    """``[(name, absolute path), …]`` of the present embeddings whose names occur in ``prompt`` (as
    a word: A1111 triggers a textual inversion by its name in the text)."""
    found = []
    for entry in embeddings():
        if re.search(rf"(?<![\w-]){re.escape(entry.name)}(?![\w-])", prompt):
            found.append((entry.name, str(absolute_path(entry))))
    return found
