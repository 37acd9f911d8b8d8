"""Why the gardener acted: each reason one English sentence with named values, kept as such in
``GardenerAction.reason`` (searchable, what logs and exports say), and worded in the reader's
language by the admin (``worded``).

Each template is a catalog entry (``gettext_noop``), and the stored text is matched against the
templates to find its values again, so rows written before the admin translated them read in the
curator's language too. A text no template matches (a row of an older release) is shown as stored.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

from config.caches import memoized

JOB_FINISHED = gettext_noop("its job finished")
JOB_FINISHED_HELD = gettext_noop("its job finished; %(held)d held back in the pool: the image check did not clear them")
PROMOTED_TRUSTED = gettext_noop("trusted mode: promoted at once")
RETIRED = gettext_noop("retired by the gardener")
RETIRED_SURPLUS = gettext_noop("retired by the gardener: the weakest judged picture of a key above its target")
RETIRED_STALLED = gettext_noop(
    "retired by the gardener: a trial visitors' exploration stopped showing before it was judged, in a key above its target"
)
RETIRED_WEAK_TRIAL = gettext_noop(
    "retired by the gardener: a trial unlikely to beat its key's median before it was judged, in a key above its target"
)
BELOW_TARGET = gettext_noop("key below its target")
BELOW_TARGET_BRED = gettext_noop("key below its target: bred from liked parents")
TRIAL_BRED = gettext_noop("a trial above the key's target: bred from liked parents")
JOB_REFUSED = gettext_noop("job refused: %(message)s")
LIMITED = gettext_noop("limited by the %(limit)s: %(keys)d key(s) not filled")
UNDID = gettext_noop("undid: %(kind)s")

TEMPLATES = (
    JOB_FINISHED, JOB_FINISHED_HELD, PROMOTED_TRUSTED, RETIRED, RETIRED_SURPLUS, RETIRED_STALLED, RETIRED_WEAK_TRIAL, BELOW_TARGET,
    BELOW_TARGET_BRED, TRIAL_BRED, JOB_REFUSED, LIMITED, UNDID,
)  # fmt: skip
# What stops the filling (gardener.planning: Plan.limited_by), a value LIMITED names.
LIMITS = (gettext_noop("image budget"), gettext_noop("pool backlog"), gettext_noop("GPU minutes"))

_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


@memoized(key="a reason's template", fresh="none: a pure function of its key", maxsize=64)
def _pattern(template: str) -> re.Pattern:
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts += [re.escape(template[last : match.start()]), rf"(?P<{match[1]}>\d+)" if match[2] == "d" else rf"(?P<{match[1]}>.+)"]
        last = match.end()
    return re.compile("".join([*parts, re.escape(template[last:])]), re.DOTALL)


def parse(text: str) -> tuple[str, dict] | None:
    """The template ``text`` was made from and its values, or None."""
    for template in TEMPLATES:
        if found := _pattern(template).fullmatch(text):
            return template, {name: int(value) if value.isdigit() else value for name, value in found.groupdict().items()}
    return None


def worded(text: str, *, undone_kind: str = "") -> str:
    """``text`` (a stored reason) in the active language; ``undone_kind``: the undone action's kind as
    that language names it (an undo's row stored it in the language of whoever clicked Undo)."""
    found = parse(text)
    if found is None:
        return text
    template, values = found
    if "limit" in values and values["limit"] in LIMITS:
        values["limit"] = gettext(values["limit"])
    if "kind" in values and undone_kind:
        values["kind"] = undone_kind
    return gettext(template) % values
