"""The keyboard review page and the JSON endpoint it posts decisions to; demoting one image.

Staff pages in the admin's look, routed by curation/urls.py. Review needs ``garden.change_image``
(curators have it). The page is wrapped by the admin site (login redirect, never cached, CSRF);
the endpoint answers a script, so it returns JSON 403s instead of a login page, CSRF still enforced.

``demote`` is the confirmation page other admin pages link to (the insights prune list): GET asks,
POST demotes through ``services.demote`` (admin log included) and goes back where it came from
with a message. It needs ``curation.promote_image`` (promote and demote).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ParseError

from config.parsers import decode_json
from curation import selectors, services
from garden.models import Emotion, Image

REVIEW_PERMISSION = "garden.change_image"
DEMOTE_PERMISSION = "curation.promote_image"
MAX_DECISIONS = 1000
# The scopes' names as the page's select shows them (the values stay English in the URL).
SCOPE_LABELS = {
    selectors.Scope.PENDING: pgettext_lazy("review scope", "pending"),
    selectors.Scope.KEPT: pgettext_lazy("review scope", "kept"),
    selectors.Scope.REJECTED: pgettext_lazy("review scope", "rejected"),
}


@require_GET
def review(request):
    if not request.user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied
    scope = request.GET.get("scope", selectors.Scope.PENDING)
    if scope not in selectors.Scope.CHOICES:
        scope = selectors.Scope.PENDING
    filters = selectors.parse_review_filters(request.GET)
    decide_url = reverse("curation:decide")
    context = {
        **admin.site.each_context(request),
        "opts": Image._meta,
        "title": _("Review images"),
        "items": selectors.review_items(queryset=selectors.review_queryset(scope=scope, **filters.as_kwargs())),
        "counts": selectors.review_counts(**filters.as_kwargs()),
        "scope": scope,
        "scopes": selectors.Scope.CHOICES,
        "scope_choices": [(value, SCOPE_LABELS[value]) for value in selectors.Scope.CHOICES],
        "emotion": filters.emotion,
        "favorite": filters.favorite or "",
        "job": filters.job,
        "emotions": Emotion.values,
        "can_promote": request.user.has_perm("curation.promote_image"),
        "config": {
            "decideUrl": decide_url,
            "emotion": filters.emotion,
            "favorite": filters.favorite,
            "job": str(filters.job.pk) if filters.job else None,
        },
    }
    return TemplateResponse(request, "admin/garden/image/review.html", context)


@csrf_protect
@never_cache
@require_POST
def decide(request):
    """POST {"ids": [..], "decision": "keep|reject|pending", filters…} → the images' new states and counts."""
    if not (request.user.is_active and request.user.is_staff):
        return JsonResponse({"error": _("Staff login required.")}, status=403)
    if not request.user.has_perm(REVIEW_PERMISSION):
        return JsonResponse({"error": _("You may not review images.")}, status=403)
    try:
        body = decode_json(request.body or b"{}")
        ids = [int(pk) for pk in body.get("ids", [])]
        decision = services.Decision(body.get("decision"))
    except (ParseError, ValueError, TypeError, AttributeError, OverflowError):
        return JsonResponse({"error": _('Expected {"ids": [int, ...], "decision": "keep"|"reject"|"pending"}.')}, status=400)
    if not 1 <= len(ids) <= MAX_DECISIONS:
        return JsonResponse({"error": _("Send between 1 and %(most)d ids.") % {"most": MAX_DECISIONS}}, status=400)
    result = services.decide(images=Image.objects.with_ids(ids), decision=decision, user=request.user)
    states = [
        {"id": pk, "status": status, "kept": kept} for pk, status, kept in Image.objects.with_ids(ids).values_list("pk", "status", "kept")
    ]
    filters = selectors.parse_review_filters(body)
    failed = {str(pk): error for pk, error in result.failed.items()}
    return JsonResponse({"images": states, "failed": failed, **selectors.review_counts(**filters.as_kwargs())})


def _back(request, fallback: str) -> str:
    """Where to return after a demotion: a same-site ``next``, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and safe else fallback


def demote(request, pk: int):
    """Confirm, then demote one serving image to the pool (kiosks stop showing it at once)."""
    if not request.user.has_perm(DEMOTE_PERMISSION):
        raise PermissionDenied
    image = get_object_or_404(Image, pk=pk)
    back = _back(request, reverse("admin:garden_image_change", args=[image.pk]))
    if request.method == "POST":
        if image.status != Image.Status.SERVING:
            messages.warning(
                request, _("%(key)s is not serving (%(status)s): nothing to demote.") % {"key": image.key, "status": image.status}
            )
            return HttpResponseRedirect(back)
        result = services.demote(images=[image], user=request.user)
        if result.changed:
            image.refresh_from_db()
            messages.success(
                request,
                _("Demoted to the pool: %(key)s. Kiosks no longer show it; promote it again from the image list.") % {"key": image.key},
            )
        else:
            messages.error(
                request,
                _("Could not demote %(key)s: %(error)s.") % {"key": image.key, "error": result.failed.get(image.pk, _("see the log"))},
            )
        return HttpResponseRedirect(back)
    context = {
        **admin.site.each_context(request),
        "opts": Image._meta,
        "title": _("Demote this image?"),
        "image": image,
        "thumb": selectors.thumbnail_url(image),
        "serving": image.status == Image.Status.SERVING,
        "back": back,
    }
    return TemplateResponse(request, "admin/garden/image/demote_confirm.html", context)
