"""What the image admin's bulk actions tell the curator, in whole translatable sentences.

Each action's sentences are complete (not a verb slotted into a frame), so every language can
order its own words; counts go through ngettext.
"""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from curation import services

# What each bulk action says, whole sentences so that every language can order its words:
# (done, could not, nothing to do).
REPORTS = {
    "keep": (
        lambda n: ngettext("Kept %d image.", "Kept %d images.", n),
        lambda n: ngettext("%(count)d image could not be kept: %(error)s", "%(count)d images could not be kept: %(error)s", n),
        lambda: _("Nothing to keep: no selected image was eligible."),
    ),
    "reject": (
        lambda n: ngettext("Rejected %d image.", "Rejected %d images.", n),
        lambda n: ngettext("%(count)d image could not be rejected: %(error)s", "%(count)d images could not be rejected: %(error)s", n),
        lambda: _("Nothing to reject: no selected image was eligible."),
    ),
    "reset": (
        lambda n: ngettext("Reset %d image.", "Reset %d images.", n),
        lambda n: ngettext("%(count)d image could not be reset: %(error)s", "%(count)d images could not be reset: %(error)s", n),
        lambda: _("Nothing to reset: no selected image was eligible."),
    ),
    "promote": (
        lambda n: ngettext("Promoted %d image.", "Promoted %d images.", n),
        lambda n: ngettext("%(count)d image could not be promoted: %(error)s", "%(count)d images could not be promoted: %(error)s", n),
        lambda: _("Nothing to promote: no selected image was eligible."),
    ),
    "demote": (
        lambda n: ngettext("Demoted %d image.", "Demoted %d images.", n),
        lambda n: ngettext("%(count)d image could not be demoted: %(error)s", "%(count)d images could not be demoted: %(error)s", n),
        lambda: _("Nothing to demote: no selected image was eligible."),
    ),
}


def report(model_admin, request, result: services.BulkResult, *, verb: str) -> None:
    """Tell the curator what a bulk action did (``verb``: a key of REPORTS)."""
    done, could_not, nothing = REPORTS[verb]
    if result.changed:
        model_admin.message_user(request, done(len(result.changed)) % len(result.changed), messages.SUCCESS)
    if result.failed:
        first = next(iter(result.failed.values()))
        message = could_not(len(result.failed)) % {"count": len(result.failed), "error": first}
        if len(result.failed) > 1:
            message += _(" (and others: see the log)")
        model_admin.message_user(request, message, messages.ERROR)
    if not result.changed and not result.failed:
        model_admin.message_user(request, nothing(), messages.WARNING)


def purged(count: int) -> str:
    return (
        ngettext("Purged %d rejected image; its files are deleted.", "Purged %d rejected images; their files are deleted.", count) % count
    )
