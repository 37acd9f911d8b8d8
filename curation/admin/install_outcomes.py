"""An install's outcome on the admin's "Install a model" page, in the curator's language.

The worker writes its report in English (library.services.install: what ``manage.py install_model``
prints too). The page words the reports of a finished, a stalled and a queued install and the
rescan's note from their fixed shapes; a failure's reason is the install's own message, shown as it
said it under a translated heading (the page's help says so).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

# What the worker calls each kind it installed (library.services.install.placement: KIND_WORDS and the kinds).
INSTALLED_KINDS = {
    "model (checkpoint)": gettext_lazy("model (checkpoint)"),
    "model (diffusers folder)": gettext_lazy("model (diffusers folder)"),
    "expression model": gettext_lazy("expression model"),
    "lora": pgettext_lazy("installed kind", "lora"),
    "embedding": pgettext_lazy("installed kind", "embedding"),
    "vae": pgettext_lazy("installed kind", "vae"),
    "upscaler": pgettext_lazy("installed kind", "upscaler"),
}
INSTALLED = re.compile(
    rf"installed (?P<kind>{'|'.join(map(re.escape, INSTALLED_KINDS))}) (?P<path>.+?)(?:, sha256 (?P<sha256>[0-9a-f]{{64}}))?"
)
# The rescan's notes (placement.place's scan_note), each with what follows its fixed words.
NOTES = (
    (re.compile(r"installed, but the rescan failed \((?P<error>.*)\); run manage\.py scan_models", re.DOTALL),
     gettext_lazy("installed, but the rescan failed (%(error)s); run manage.py scan_models")),
    (re.compile(r"listed as not usable: (?P<reason>.*)", re.DOTALL), gettext_lazy("listed as not usable: %(reason)s")),
    (re.compile(r"the scan skipped it: (?P<why>.*)", re.DOTALL), gettext_lazy("the scan skipped it: %(why)s")),
    (re.compile(r"the scan made no entry of it"), gettext_lazy("the scan made no entry of it")),
)  # fmt: skip


def outcome(status: dict) -> str:
    """The report's message in the active language where its shape is known, else as written."""
    message, state = status.get("message") or "", status.get("state", "")
    if state == "stalled":
        return _("no report for minutes: its worker stopped; install it again to resume the download")
    if state == "done" and (found := INSTALLED.fullmatch(message)):
        what = {"kind": INSTALLED_KINDS[found["kind"]], "path": found["path"]}
        if found["sha256"]:
            return _("installed %(kind)s %(path)s, sha256 %(sha256)s") % {**what, "sha256": found["sha256"]}
        return _("installed %(kind)s %(path)s") % what
    return message


def note(text: str) -> str:
    for pattern, words in NOTES:
        if found := pattern.fullmatch(text or ""):
            return str(words) % found.groupdict() if found.groupdict() else str(words)
    return text or ""
