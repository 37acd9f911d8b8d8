"""Quarantine in the image admin: the safety filter and column, and the release form.

A picture the image check flagged is shown blurred (curation/images.css) with its verdict, score
and reason, until a curator releases it with a reason (curation.services.release → safety.services.release_image,
which logs who and why) or rejects and purges it like any other pool picture. Releasing needs the promote
right: it is the step before a promotion.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from curation import selectors, services
from garden.models import Image

RELEASE_PERMISSION = "curation.promote_image"
RELEASE_SAMPLE = 24  # thumbnails on the release form
# The verdicts as the list and the review page write them (lower case, before the score).
VERDICT_WORDS = {
    Image.Safety.PASSED: pgettext_lazy("safety verdict", "passed"),
    Image.Safety.FLAGGED: pgettext_lazy("safety verdict", "flagged"),
    Image.Safety.UNCHECKED: pgettext_lazy("safety verdict", "unchecked"),
}


class SafetyFilter(admin.SimpleListFilter):
    title = gettext_lazy("safety check")
    parameter_name = "safety"

    def lookups(self, request, model_admin):
        return [
            ("quarantined", _("Quarantined (flagged, not released)")),
            ("released", _("Released by a curator")),
            (Image.Safety.PASSED, _("Passed")),
            (Image.Safety.UNCHECKED, _("Unchecked")),
            ("cleared", _("Cleared (passed or released)")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "quarantined":
            return queryset.quarantined()
        if value == "released":
            return queryset.filter(safety_released=True)
        if value == "cleared":
            return queryset.cleared()
        if value in (Image.Safety.PASSED, Image.Safety.UNCHECKED):
            return queryset.filter(safety_verdict=value)
        return queryset


def verdict_text(image: Image) -> str:
    """ "flagged 0.93 (open_nsfw …)", "passed 0.02", "flagged, released"…: what the list and the review page show."""
    score = f" {image.safety_score:.2f}" if image.safety_score is not None else ""
    released = _(", released") if image.safety_released else ""
    return f"{VERDICT_WORDS.get(image.safety_verdict, image.safety_verdict)}{score}{released}"


def safety_column(image: Image):
    """The list's safety cell: the verdict and score, the reason as its tooltip."""
    css = "safety-quarantined" if image.quarantined else f"safety-{image.safety_verdict}"
    return format_html('<span class="safety-verdict {}" title="{}">{}</span>', css, image.safety_reason, verdict_text(image))


def safety_details(image: Image):
    """The change page's safety block: verdict, reason, the releases so far and the release link."""
    releases = list(image.safety_releases.select_related("released_by")[:5])
    lines = [format_html("<strong>{}</strong> · {}", verdict_text(image), image.safety_checker or _("no checker recorded"))]
    if image.safety_reason:
        lines.append(format_html("{}", _("reason: %(reason)s") % {"reason": image.safety_reason}))
    for release in releases:
        who = release.released_by.get_username() if release.released_by else _("someone since removed")
        when = f"{release.released_at:%Y-%m-%d %H:%M}"
        lines.append(
            format_html("{}", _("released by %(who)s on %(when)s: %(reason)s") % {"who": who, "when": when, "reason": release.reason})
        )
    if image.quarantined:
        url = reverse("admin:garden_image_release", args=[image.pk])
        lines.append(format_html('<a class="button" id="release-link" href="{}">{}</a>', url, _("Release from quarantine…")))
    return format_html("<br>".join(["{}"] * len(lines)), *lines)


def can_release(request) -> bool:
    return request.user.has_perm(RELEASE_PERMISSION)


def release(model_admin, request, images: QuerySet[Image], *, selected: list[int] | None):
    """GET (or an action's first POST): the form; a POST with ``confirm`` and a reason releases
    every quarantined picture among ``images`` and goes back to the list. ``selected``: the
    action's ids (hidden fields), None for one picture's own page."""
    if not can_release(request):
        raise PermissionDenied
    quarantined = images.quarantined().order_by("-created_at", "-id")
    reason = request.POST.get("reason", "").strip() if request.method == "POST" else ""
    error = ""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        if not reason:
            error = _("Give a reason: it is logged with your name.")
        else:
            result = services.release(images=quarantined, user=request.user, reason=reason)
            if result.changed:
                count = len(result.changed)
                done = (
                    ngettext(
                        "Released %d picture from quarantine; it may now be promoted.",
                        "Released %d pictures from quarantine; they may now be promoted.",
                        count,
                    )
                    % count
                )
                model_admin.message_user(request, done, messages.SUCCESS)
            for pk, message in result.failed.items():
                model_admin.message_user(request, f"#{pk}: {message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:garden_image_changelist") + "?safety=released")
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Release from quarantine"),
        "count": quarantined.count(),
        "sample": [
            {"key": i.key, "thumb": selectors.thumbnail_url(i), "verdict": verdict_text(i), "reason": i.safety_reason}
            for i in quarantined[:RELEASE_SAMPLE]
        ],
        "selected": selected,
        "reason": reason,
        "error": error,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/garden/image/release.html", context)
