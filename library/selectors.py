"""The model library, read side: the pipelines, LoRAs, embeddings and the rest found under GARDEN_MODELS_DIR.

Rows are written by the scan (library.services.entries); only entries the last scan found
(``present``) count. With GARDEN_MODELS_DIR empty there is no library: every list is empty and
jobs use GARDEN_DIFFUSION_MODEL alone (docs/models.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from library.hosts import host_name
from library.models import LibraryCopy, LibraryEntry, LibraryEntryQuerySet, LibraryScan, LibraryUpload

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
            Kind.CONTROLNET: gettext("Unknown ControlNet %(name)s: the library has %(known)s."),
            Kind.TAGGER: gettext("Unknown tagger %(name)s: the library has %(known)s."),
        }
        listed = ", ".join(known) if known else gettext("none (this site has no model library: docs/models.md)")
        super().__init__(messages[kind] % {"name": repr(name), "known": listed})


class UnusableEntry(UnknownEntry):
    """The library has an entry of that name, but it cannot paint now: its file is gone (since the
    last scan or before it) or the scan found it unusable (incomplete, a kind this product does not run)."""

    def __init__(self, kind: str, name: str, reason: str):
        self.kind, self.name, self.known, self.reason = kind, name, [], reason
        what = LibraryEntry.Kind(kind).label if kind in LibraryEntry.Kind.values else kind
        message = gettext("%(what)s %(name)s cannot be used: %(reason)s") % {"what": what, "name": repr(name), "reason": reason}
        LookupError.__init__(self, message)


def why_unusable(entry: LibraryEntry) -> str:
    """Why a library entry cannot paint now ("" when it can): the rule of
    ``LibraryEntry.objects.usable()`` (the last scan found it present and usable), then its file,
    which may have gone since that scan. The admin's row, its *usable* filter (``can_paint``), the
    jobs' 400, the default model and A1111's options all ask here."""
    if not entry.present:
        since = f" (since {timezone.localtime(entry.missing_since):%Y-%m-%d %H:%M %Z})" if entry.missing_since else ""
        return gettext("its file %(path)s is gone from the models folder%(since)s.") % {"path": entry.path, "since": since}
    if not entry.usable:
        return entry.unusable_reason or gettext("the scan listed it as not usable.")
    if not _file_there(entry.path) and not _entry_held_elsewhere(entry):
        return gettext("its file %(path)s is gone from the models folder (removed since the last scan).") % {"path": entry.path}
    return ""


def can_paint(queryset: LibraryEntryQuerySet) -> LibraryEntryQuerySet:
    """The entries of ``queryset`` that can paint now (``why_unusable`` says "" of each): the rows'
    rule in SQL, less those whose file went since the last scan (one look at each file)."""
    listed = queryset.usable()
    rows = listed.values_list("pk", "path", "stored_at")
    gone = [pk for pk, path, stored_at in rows if not _there(path, pk, stored_at is not None)]
    return listed.exclude(pk__in=gone) if gone else listed


def _file_there(path: str) -> bool:
    return bool(settings.GARDEN_MODELS_DIR) and (Path(settings.GARDEN_MODELS_DIR) / path).exists()


def _entry_held_elsewhere(entry: LibraryEntry) -> bool:
    """``_held_elsewhere`` of one row, from its copies (no query when they were prefetched: the admin's list)."""
    if entry.stored_at is not None and settings.GARDEN_MODELS_STORE:
        return True
    since, here = fresh_since(), host_name()
    return any(copy.on_disk and copy.host != here and (since is None or copy.seen_at >= since) for copy in entry.copies.all())


def _there(path: str, entry_id: int, stored: bool) -> bool:
    """In this host's folder, or held elsewhere in the venue."""
    return _file_there(path) or _held_elsewhere(entry_id, stored)


def _held_elsewhere(entry_id: int, stored: bool) -> bool:
    """Not in this host's folder, yet the venue has it: in the store (a worker fetches it), or on a
    host that looks at its folder (a job goes there). Without a store and other hosts: never."""
    if stored and settings.GARDEN_MODELS_STORE:
        return True
    return fresh_copies(entry_id).exclude(host=host_name()).exists()


# --- copies per host ------------------------------------------------------------------------------


def fresh_since() -> dt.datetime | None:
    """Copies a host saw after this count (its followers look every GARDEN_LIBRARY_SCAN_SECONDS);
    None: every copy counts (no following, so no host says it is alive)."""
    interval = float(settings.GARDEN_LIBRARY_SCAN_SECONDS)
    if interval <= 0:
        return None
    return timezone.now() - dt.timedelta(seconds=max(600.0, 10 * interval))


def fresh_copies(entry_id: int) -> QuerySet[LibraryCopy]:
    copies = LibraryCopy.objects.filter(entry_id=entry_id, on_disk=True)
    since = fresh_since()
    return copies if since is None else copies.filter(seen_at__gte=since)


def hosts_with_copy(entry_id: int) -> set[str]:
    """The hosts holding a whole copy of the entry on disk and looking at their folder (a job whose
    files only they have is left to their workers: generation.dispatch.pull)."""
    return set(fresh_copies(entry_id).values_list("host", flat=True))


def fetchable(entry: LibraryEntry) -> bool:
    """Any host can fetch the entry's files: the venue's store (GARDEN_MODELS_STORE) holds them."""
    return entry.stored_at is not None and bool(settings.GARDEN_MODELS_STORE)


def enabled() -> bool:
    """A library: this host's folder, or the venue's store (a web host may have no folder)."""
    return bool(settings.GARDEN_MODELS_DIR or settings.GARDEN_MODELS_STORE)


def entries(kind: str) -> QuerySet[LibraryEntry]:
    """The present entries of ``kind`` that this product can use, by name (none without a library).
    Entries the scan marked not usable (a family or format it cannot run) are listed in the admin
    and by scan_models with their reason, never offered to jobs."""
    if not enabled():
        return LibraryEntry.objects.none()
    return LibraryEntry.objects.filter(kind=kind).usable().order_by("name")


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


def controlnets() -> QuerySet[LibraryEntry]:
    return entries(Kind.CONTROLNET)


def taggers() -> QuerySet[LibraryEntry]:
    return entries(Kind.TAGGER)


@dataclass(frozen=True)
class DefaultModel:
    """The model chosen as the default (remembered by name while its file is gone or unusable) and
    the one jobs that name none paint with: the chosen one, else a stand-in that ``problem`` names."""

    chosen: LibraryEntry | None
    used: LibraryEntry | None
    chosen_reason: str = ""  # why the chosen one cannot paint now ("" when it can)

    @property
    def problem(self) -> str:
        """One sentence when jobs do not paint with the chosen default ("" when they do)."""
        if self.chosen is None or not self.chosen_reason:
            return ""
        words = {"name": self.chosen.name, "reason": self.chosen_reason.rstrip("."), "used": self.used.name if self.used else ""}
        if self.used is None:
            return (
                gettext(
                    "The default model %(name)s cannot be used: %(reason)s. No other model can paint jobs that name none: "
                    "put its file back or make another model the default."
                )
                % words
            )
        return (
            gettext(
                "The default model %(name)s cannot be used: %(reason)s. Jobs that name no model paint with %(used)s until "
                "its file is back (it is the default again then) or another model is made the default."
            )
            % words
        )


def default_state() -> DefaultModel:
    """The chosen default and what jobs that name no model use (both None without a library)."""
    if not enabled():
        return DefaultModel(None, None)
    chosen = LibraryEntry.objects.filter(kind=Kind.PIPELINE, is_default=True).first()
    reason = why_unusable(chosen) if chosen is not None else ""
    if chosen is not None and not reason:
        return DefaultModel(chosen, chosen)
    stand_in = next((entry for entry in pipelines() if not why_unusable(entry)), None)
    return DefaultModel(chosen, stand_in, reason)


def default_pipeline() -> LibraryEntry | None:
    """The pipeline jobs use when they name none: the chosen default, else a stand-in (default_state
    says why); None without a library (GARDEN_DIFFUSION_MODEL then)."""
    return default_state().used


def default_for_jobs() -> LibraryEntry | None:
    """default_pipeline(), or UnusableEntry when the chosen default cannot paint and no model stands in."""
    state = default_state()
    if state.chosen is not None and state.used is None:
        raise UnusableEntry(Kind.PIPELINE, state.chosen.name, state.chosen_reason)
    return state.used


@dataclass(frozen=True)
class LiveModel:
    """The pipeline that paints live pictures (docs/live.md#the-live-model): the one a curator
    marked, else the first turbo-class pipeline that can paint (by name), else none; ``problem``
    says, with how to fix it, when no model paints them although the site paints live pictures
    with a library model (GARDEN_GENERATOR_BACKEND is not procedural, whose painter paints them)."""

    entry: LibraryEntry | None
    marked: bool = False  # True: the curator's choice; False with an entry: picked by the rule
    problem: str = ""


def live_state() -> LiveModel:
    marked = pipelines().filter(live=True).first()
    if marked is not None:
        return LiveModel(marked, marked=True)
    turbo = next((entry for entry in pipelines().filter(family=LibraryEntry.Family.TURBO) if not why_unusable(entry)), None)
    if turbo is not None:
        return LiveModel(turbo)
    if not settings.GARDEN_LIVE_ENABLED or settings.GARDEN_GENERATOR_BACKEND == "procedural":
        return LiveModel(None)
    if not enabled():
        problem = gettext(
            "No model paints live pictures, so kiosks show no live tile (POST /live answers 503 no_live_model): they are "
            "painted by a model of the library, and GARDEN_MODELS_DIR is empty. Set GARDEN_MODELS_DIR and put a "
            "turbo-class model in it, or mark one for live pictures (docs/live.md, The live model)."
        )
    else:
        problem = gettext(
            "No model paints live pictures, so kiosks show no live tile (POST /live answers 503 no_live_model): no "
            "model of the library is marked for them and none is turbo-class. In the Model library, select one model "
            "and run the action “Paint live pictures with it (one model)”, or install a turbo-class model "
            "(docs/live.md, The live model)."
        )
    return LiveModel(None, problem=problem)


def last_scan() -> LibraryScan | None:
    return LibraryScan.objects.first()


def is_empty() -> bool:
    """No entry at all, not even one whose file is gone: nothing was ever found in the folder."""
    return not LibraryEntry.objects.exists()


# What the admin's list shows of a row; listing_version digests them.
LISTED_FIELDS = (
    "pk", "kind", "name", "path", "family", "size_bytes", "sha256", "stored_at", "usable", "unusable_reason", "present",
    "is_default", "live",
    "default_steps", "default_guidance", "default_width", "default_height",
)  # fmt: skip


def listing_version() -> str:
    """A short digest of what the library's list shows: every row's listed fields, whether each
    present row's file is there now (why_unusable's look), and the last scan's state. It moves when a
    scan adds, changes or loses an entry, when a file goes before a scan notices, when a curator
    edits a row, when a scan ends and as an upload into the store moves; the admin's list polls it and reloads (three queries)."""
    digest = hashlib.sha256()
    for row in LibraryEntry.objects.order_by("pk").values_list(*LISTED_FIELDS):
        listed = dict(zip(LISTED_FIELDS, row, strict=True))
        there = enabled() and listed["present"] and _there(listed["path"], listed["pk"], listed["stored_at"] is not None)
        digest.update(f"{row!r}{there}\n".encode())
    digest.update(repr(LibraryScan.objects.values_list("pk", "state").first()).encode())
    # Uploads into the store: their state, and their bytes by the percent (the list follows an upload).
    for upload in LibraryUpload.objects.order_by("pk").values_list("entry_id", "host", "state", "bytes_done", "bytes_total"):
        digest.update(f"{upload[:3]!r}{upload[3] * 100 // max(upload[4], 1)}\n".encode())
    return digest.hexdigest()[:16]


def strip_title(name: str) -> str:
    """``"sdxl-base [31e35c80fc]"`` → ``"sdxl-base"`` (A1111's checkpoint title)."""
    return _TITLE_HASH.sub("", name.strip())


def _resolve(kind: str, name: str) -> LibraryEntry:
    """The usable entry ``name`` whose file is there; UnusableEntry (with the library's reason) for a
    known name that cannot paint, UnknownEntry for an unknown one."""
    found = entries(kind)
    entry = found.filter(name=name).first()
    if entry is None:
        known = LibraryEntry.objects.filter(kind=kind, name=name).first() if enabled() else None
        if known is not None:
            raise UnusableEntry(kind, name, why_unusable(known))
        raise UnknownEntry(kind, name, list(found.values_list("name", flat=True)))
    reason = why_unusable(entry)  # its file removed since the last scan
    if reason:
        raise UnusableEntry(kind, name, reason)
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


def resolve_controlnet(name: str) -> LibraryEntry:
    """A ControlNet (controlnet/<name>/) as the retouch settings name it; its folder through library.cache.local_path."""
    return _resolve(Kind.CONTROLNET, name.strip())


def resolve_tagger(name: str) -> LibraryEntry:
    return _resolve(Kind.TAGGER, name.strip())


def model_problem(name: str) -> str:
    """Why a job naming the model ``name`` cannot paint now ("" when it can, or names none): the
    admin's Retry refuses such a job instead of queueing it to fail again."""
    if not name or not enabled():
        return ""
    try:
        resolve_model(name)
    except UnknownEntry as exc:
        return str(exc)
    return ""


def listed_path(entry: LibraryEntry) -> Path:
    """Where the entry's file is, or would be, under this host's GARDEN_MODELS_DIR: a name to show
    (A1111's ``filename``) or record, never to open. Code that reads the file asks
    ``library.cache.local_path``, which fetches it onto this host first (tests/config/test_library_door.py)."""
    return Path(settings.GARDEN_MODELS_DIR) / entry.path


def embeddings_in(prompt: str) -> list[LibraryEntry]:
    """The present embeddings whose names occur in ``prompt`` (as a word: A1111 triggers a textual
    inversion by its name in the text); their files through ``library.cache.embedding_paths``."""
    return [entry for entry in embeddings() if re.search(rf"(?<![\w-]){re.escape(entry.name)}(?![\w-])", prompt)]
