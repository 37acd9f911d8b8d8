"""The last scan of the models folder, worded in the curator's language on Library entries' list.

A scan records what it changed by name (``LibraryScan.added``, ``changed``, ``lost``, ``settling``)
and its summary as one English line (``message``: library.services.entries.ScanResult, what
``manage.py scan_models`` and the logs print). The names come from the fields; the summary's counts,
unusable models and skipped files are read back from the line's fixed shape. A failed scan's
message is the worker's error (an OSError's or the library's own words), shown as it said it after a
translated "failed".
"""

from __future__ import annotations

import re

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext
from django.utils.translation import gettext as _

from library.models import LibraryEntry, LibraryScan

# The summary's counts, in ScanResult.summary's order.
COUNTS = re.compile(
    r"(?P<pipeline>\d+) model\(s\), (?P<lora>\d+) LoRA\(s\), (?P<embedding>\d+) embedding\(s\), (?P<vae>\d+) VAE\(s\), "
    r"(?P<upscaler>\d+) upscaler\(s\)(?:, (?P<controlnet>\d+) ControlNet\(s\), (?P<tagger>\d+) tagger\(s\))?"
)
UNUSABLE = re.compile(r"; not usable: (?P<names>.*?)(?=; no longer found: |; skipped \d+ file|\)?$)")
NO_LONGER_FOUND = re.compile(r"; no longer found: (?P<names>.*?)(?=; skipped \d+ file|\)?$)")
SKIPPED = re.compile(r"; skipped (?P<count>\d+) file\(s\)")
# Who asked for the scan (LibraryScan.trigger).
TRIGGERS = {
    "start": gettext_lazy("at start"),
    "periodic": gettext_lazy("periodic"),
    "admin": gettext_lazy("from the admin"),
    "command": gettext_lazy("manage.py scan_models"),
    "a1111": gettext_lazy("an SD client's refresh"),
    "install": gettext_lazy("after an install"),
}
CHANGE_LABELS = (
    ("added", gettext_lazy("added: %(names)s")),
    ("changed", gettext_lazy("changed: %(names)s")),
    ("lost", gettext_lazy("lost: %(names)s")),
    ("settling", gettext_lazy("still being written: %(names)s")),
)


# A name the scan lists is "name" for a model and "name (kind)" for the rest (ScanResult).
NAMED_KIND = re.compile(rf"(?P<name>.+) \((?P<kind>{'|'.join(LibraryEntry.Kind.values)})\)")


def _names(names: list[str]) -> str:
    """The scan's names, each kind in the reader's language, joined as the language lists."""
    shown = []
    for name in names:
        found = NAMED_KIND.fullmatch(name)
        shown.append(f"{found['name']} ({LibraryEntry.Kind(found['kind']).label})" if found else name)
    return pgettext("list separator", ", ").join(shown)


def _kinds(counts: dict[str, str | None]) -> list[str]:
    words = {
        "pipeline": lambda n: ngettext("%(count)s model", "%(count)s models", n),
        "lora": lambda n: ngettext("%(count)s LoRA", "%(count)s LoRAs", n),
        "embedding": lambda n: ngettext("%(count)s embedding", "%(count)s embeddings", n),
        "vae": lambda n: ngettext("%(count)s VAE", "%(count)s VAEs", n),
        "upscaler": lambda n: ngettext("%(count)s upscaler", "%(count)s upscalers", n),
        "controlnet": lambda n: ngettext("%(count)s ControlNet", "%(count)s ControlNets", n),
        "tagger": lambda n: ngettext("%(count)s tagger", "%(count)s taggers", n),
    }
    return [words[kind](int(count)) % {"count": number_format(int(count))} for kind, count in counts.items() if count is not None]


def trigger(scan: LibraryScan) -> str:
    return str(TRIGGERS.get(scan.trigger, scan.trigger))


def worded(scan: LibraryScan) -> str:
    """The scan's outcome in the active language: what it changed, then what the library holds. In
    English, the source language, the line as the scan wrote it (it also names each skipped file)."""
    if scan.state == LibraryScan.State.FAILED or get_language() in (None, "en") or get_language().startswith("en-"):
        return scan.message  # a failure: the worker's error as it said it (the page says "failed" before it)
    parts = [str(label) % {"names": _names(getattr(scan, field))} for field, label in CHANGE_LABELS if getattr(scan, field)]
    text = "; ".join(parts) or _("no change")
    counts = COUNTS.search(scan.message)
    if counts is None:  # an older release's line, or none: what the fields said is all there is
        return text
    holds = pgettext("list separator", ", ").join(_kinds(counts.groupdict()))
    if unusable := UNUSABLE.search(scan.message):
        holds += "; " + _("not usable: %(names)s") % {"names": unusable["names"]}
    if missing := NO_LONGER_FOUND.search(scan.message):
        holds += "; " + _("no longer found: %(names)s") % {"names": missing["names"]}
    if skipped := SKIPPED.search(scan.message):
        count = int(skipped["count"])
        holds += "; " + ngettext(
            "%(count)s file skipped (manage.py scan_models names it)", "%(count)s files skipped (manage.py scan_models names them)", count
        ) % {"count": count}
    return _("%(changes)s (the library: %(holds)s)") % {"changes": text, "holds": holds}
