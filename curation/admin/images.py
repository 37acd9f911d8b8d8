"""The image admin: list with thumbnails and filters, keep/reject/undo, promotion, purge.

Thin by design: every action parses the request and calls curation.services (which also write
the admin log); reads go through curation.selectors. Nothing here deletes an image row except
the confirmed purge. The keyboard review page is curation.views.
"""

from __future__ import annotations

import numpy as np
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import _boolean_icon
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import RedirectView

from curation import selectors, services
from curation.admin import quarantine
from curation.admin.reports import purged, report
from curation.paginators import EstimatedCountPaginator
from garden import thumbnails, words
from garden.looks import LOOK_FIELDS
from garden.models import Image
from garden.selectors import looks_of
from generation.lineage import OPERATOR_WORDS, image_lineage

PROMOTE_PERMISSION = "curation.promote_image"
PURGE_PERMISSION = "curation.purge_image"
PROMOTE_SAMPLE = 24  # thumbnails on the promote confirmation (it says "showing n of m")


def _thumbnail_size(obj) -> tuple[int, int]:
    if obj.width and obj.width == obj.height:
        return 78, 78
    return (96, 60) if obj.orientation == Image.Orientation.LANDSCAPE else (60, 96)


class CachedValuesFilter(admin.SimpleListFilter):
    """Choices from a cached DISTINCT: the stock AllValuesFieldListFilter scans the table per page."""

    field = ""

    def lookups(self, request, model_admin):
        return [(value, value) for value in selectors.distinct_values(field=self.field)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class FavoriteFilter(CachedValuesFilter):
    title = gettext_lazy("favorite")
    parameter_name = field = "favorite"


class GeneratorFilter(CachedValuesFilter):
    title = gettext_lazy("generator")
    parameter_name = field = "generator"


class ModelFilter(CachedValuesFilter):
    title = gettext_lazy("model")
    parameter_name = field = "model_id"


class CurationChangeList(ChangeList):
    # Always order by an indexed pair: the admin would otherwise append "-pk" to a single-field
    # sort, which PostgreSQL cannot serve from image_newest_idx.
    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        return ["-created_at", "-id"] if ordering in (["-created_at", "-id", "-pk"], ["-pk"]) else ordering


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "key",
        "status",
        "kept_mark",
        "safety",
        "emotion",
        "favorite_name",
        "shape",
        "generator",
        "seed",
        "created_at",
    )
    list_display_links = ("key",)
    list_filter = (
        "status",
        "kept",
        quarantine.SafetyFilter,
        "live",
        "emotion",
        FavoriteFilter,
        "orientation",
        GeneratorFilter,
        ModelFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("key", "prompt")
    search_help_text = gettext_lazy("Search the key or the prompt; a number also matches the seed exactly.")
    list_per_page = 100
    list_max_show_all = 500
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = [
        "keep_selected",
        "reject_selected",
        "undo_selected",
        "promote_selected",
        "demote_selected",
        "release_selected",
        "purge_selected",
        "make_thumbnails",
    ]
    readonly_fields = (
        "preview",
        "safety_details",
        "retouch",
        "key",
        "status",
        "kept",
        "live",
        "emotion",
        "favorite",
        "orientation",
        "width",
        "height",
        "prompt",
        "negative_prompt",
        "seed",
        "generator",
        "model_id",
        "steps",
        "guidance",
        "byte_size",
        "content_hash",
        "measured_look",
        "thumbnail_key",
        "created_at",
        "promoted_at",
        "rejected_at",
        "source",
        "lineage",
        "parameters",
    )
    fields = readonly_fields

    class Media:
        css = {"all": ["curation/images.css"]}  # thumbnails, quarantined ones blurred

    # --- permissions: no hand-made rows, no hard delete except the confirmed purge -----------------

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # also keeps the stock bulk delete off the actions: it would bypass services

    def has_promote_permission(self, request):
        return request.user.has_perm(PROMOTE_PERMISSION)

    def has_release_permission(self, request):
        return quarantine.can_release(request)

    def has_purge_permission(self, request):
        return request.user.has_perm(PURGE_PERMISSION)

    def get_changelist(self, request, **kwargs):
        return CurationChangeList

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.lstrip("-").isdecimal() and abs(int(term)) < 2**63:
            queryset |= self.model.objects.filter(seed=int(term))
        return queryset, may_have_duplicates

    # --- columns ------------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("preview"))  # a header for the column (axe: td-has-header)
    def thumbnail(self, obj):  # in the picture's own shape (a square is not squashed to 96×60)
        return format_html(
            '<img src="{}" alt="" loading="lazy" decoding="async" width="{}" height="{}" class="{}">',
            selectors.thumbnail_url(obj),
            *_thumbnail_size(obj),
            "image-thumb quarantined" if obj.quarantined else "image-thumb",
        )

    @admin.display(description=gettext_lazy("safety"), ordering="safety_verdict")
    def safety(self, obj):
        return quarantine.safety_column(obj)

    @admin.display(description=gettext_lazy("safety check"))
    def safety_details(self, obj):
        return quarantine.safety_details(obj)

    @admin.display(description=gettext_lazy("favorite"), ordering="favorite")
    def favorite_name(self, obj):
        """The favorite in the page's language ("Winter, Sunny, Early dawn"), not its key."""
        return words.favorite_words(obj.favorite) if obj.favorite else "—"

    @admin.display(description=gettext_lazy("orientation"), ordering="orientation")
    def shape(self, obj):
        """The list the kiosks show it in (its key's h or v) and, for a square, that it is one: a promoted
        512×512 read "Landscape" (issue 63); the kiosk shows it whole, in its own shape."""
        if obj.width and obj.width == obj.height:
            return _("Square, in the %(orientation)s list") % {"orientation": obj.get_orientation_display()}
        return obj.get_orientation_display()

    @admin.display(description=gettext_lazy("kept"), ordering="kept")
    def kept_mark(self, obj):
        """✓ kept, ✗ rejected, "—" undecided (a red ✗ read as "rejected" for images nobody judged yet)."""
        if obj.kept:
            return _boolean_icon(True)
        if obj.status == Image.Status.REJECTED:
            return _boolean_icon(False)
        return format_html('<span class="undecided" title="{}">—</span>', _("not decided yet"))

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, obj):
        css = "quarantined" if obj.quarantined else ""
        return format_html('<img src="{}" alt="" class="{}" style="max-width:640px;max-height:640px">', default_storage.url(obj.key), css)

    @admin.display(description=gettext_lazy("lineage"))
    def lineage(self, obj):
        """Bred pictures: generation, operator and links to the parents (generation.lineage)."""
        bred = image_lineage(obj.parameters)
        if not bred:
            return _("fresh (not bred)")
        links = format_html_join(
            " × ", '<a href="{}">#{}</a>', ((reverse("admin:garden_image_change", args=[p]), p) for p in bred.get("parents", []))
        )
        how = OPERATOR_WORDS.get(bred.get("operator", ""), "mutation of")
        generation = _("generation %(number)s") % {"number": bred.get("generation", "?")}
        return format_html("{} · {} {}", generation, how, links)

    @admin.display(description=gettext_lazy("look"))
    def measured_look(self, obj):  # not "look": the admin would show the related row's str()
        """What the picture looks like (garden.looks), as measured when it was stored; — when not measured.
        The measures' names are the code's (garden.looks.LOOK_FIELDS), like byte_size's: not translated."""
        values = looks_of([obj.pk])[0]
        if np.isnan(values).any():
            return "—"
        return " · ".join(f"{name} {value:.2f}" for name, value in zip(LOOK_FIELDS, values, strict=True))

    @admin.display(description=gettext_lazy("retouch"))
    def retouch(self, obj):
        """Open the staff retouch page with this image (a result is a new pool image linked to it)."""
        return format_html('<a class="button" href="{}?image={}">{}</a>', reverse("kiosk-retouch"), obj.pk, _("Retouch"))

    # --- actions (each calls one service; the service writes the admin log) ------------------------

    @admin.action(permissions=["change"], description=gettext_lazy("Keep (like) selected images"))
    def keep_selected(self, request, queryset):
        report(self, request, services.decide(images=queryset, decision=services.Decision.KEEP, user=request.user), verb="keep")

    @admin.action(permissions=["change"], description=gettext_lazy("Reject (dislike) selected images — soft, undoable"))
    def reject_selected(self, request, queryset):
        report(
            self,
            request,
            services.decide(images=queryset, decision=services.Decision.REJECT, user=request.user),
            verb="reject",
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Undo: back to undecided (un-reject, un-keep)"))
    def undo_selected(self, request, queryset):
        report(
            self,
            request,
            services.decide(images=queryset, decision=services.Decision.PENDING, user=request.user),
            verb="reset",
        )

    @admin.action(permissions=["promote"], description=gettext_lazy("Promote selected to serving (kiosks see them at once)"))
    def promote_selected(self, request, queryset):
        report(self, request, services.promote(images=queryset, user=request.user), verb="promote")

    @admin.action(permissions=["promote"], description=gettext_lazy("Demote selected back to the pool"))
    def demote_selected(self, request, queryset):
        report(self, request, services.demote(images=queryset, user=request.user), verb="demote")

    @admin.action(permissions=["release"], description=gettext_lazy("Release selected from quarantine (a reason is logged)…"))
    def release_selected(self, request, queryset):
        return quarantine.release(self, request, queryset, selected=list(queryset.values_list("pk", flat=True)))

    @admin.action(permissions=["purge"], description=gettext_lazy("Purge selected rejected images (deletes files)…"))
    def purge_selected(self, request, queryset):
        rejected = queryset.rejected()
        if request.POST.get("confirm") == "yes":
            count = services.purge(images=rejected, user=request.user)
            self.message_user(request, purged(count), messages.SUCCESS)
            return None
        return self._purge_confirmation(request, count=rejected.count(), selected=queryset.values_list("pk", flat=True))

    @admin.action(permissions=["change"], description=gettext_lazy("Generate missing thumbnails"))
    def make_thumbnails(self, request, queryset):
        made, failed = thumbnails.generate_missing_thumbnails(queryset=queryset)
        made_text = ngettext("Made %(made)d thumbnail; %(failed)d failed.", "Made %(made)d thumbnails; %(failed)d failed.", made)
        self.message_user(request, made_text % {"made": made, "failed": failed}, messages.ERROR if failed else messages.SUCCESS)

    # --- extra admin views --------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            # The review page moved to curation.views; old bookmarks land there.
            path("review/", RedirectView.as_view(pattern_name="curation:review", query_string=True)),
            path("promote-kept/", wrap(self.promote_kept_view), name="garden_image_promote_kept"),
            path("purge-rejected/", wrap(self.purge_rejected_view), name="garden_image_purge_rejected"),
            path("<int:pk>/thumbnail/", wrap(self.thumbnail_view), name="garden_image_thumbnail"),
            path("<int:pk>/release/", wrap(self.release_view), name="garden_image_release"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_promote": self.has_promote_permission(request),
            "can_purge": self.has_purge_permission(request),
            "can_review": self.has_change_permission(request),
            "can_generate": request.user.has_perm("generation.add_generationjob"),
            "generate_url": reverse("admin:generation_generationjob_add"),
        }
        return super().changelist_view(request, extra_context)

    def thumbnail_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        image = get_object_or_404(self.model, pk=pk)
        try:
            key = thumbnails.ensure_thumbnail(image=image)
        except FileNotFoundError:
            raise Http404("The image file is missing.") from None
        response = HttpResponseRedirect(default_storage.url(key))
        # Shorter than a presigned URL lives (GARDEN_S3_STAFF_URL_SECONDS): a cached redirect stays valid.
        response["Cache-Control"] = "private, max-age=600"
        return response

    def release_view(self, request, pk):
        image = get_object_or_404(self.model, pk=pk)
        return quarantine.release(self, request, self.model.objects.filter(pk=image.pk), selected=None)

    def promote_kept_view(self, request):
        if not self.has_promote_permission(request):
            raise PermissionDenied
        kept = services.kept_to_promote(self.model.objects.all()).order_by("-created_at", "-id")
        if request.method == "POST":
            report(self, request, services.promote_kept(user=request.user), verb="promote")
            return HttpResponseRedirect(reverse("admin:garden_image_changelist") + "?status__exact=serving")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Promote all kept images"),
            "count": kept.count(),
            "held": self.model.objects.kept().quarantined().count(),
            "sample": [{"key": i.key, "thumb": selectors.thumbnail_url(i)} for i in kept.only(*selectors.REVIEW_FIELDS)[:PROMOTE_SAMPLE]],
        }
        return TemplateResponse(request, "admin/garden/image/promote_kept.html", context)

    def purge_rejected_view(self, request):
        if not self.has_purge_permission(request):
            raise PermissionDenied
        rejected = services.rejected_images()
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            count = services.purge(images=rejected, user=request.user)
            self.message_user(request, purged(count), messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:garden_image_changelist"))
        return self._purge_confirmation(request, count=rejected.count(), selected=None)

    def _purge_confirmation(self, request, *, count, selected):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Purge rejected images"),
            "count": count,
            "selected": list(selected) if selected is not None else None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/garden/image/purge_confirmation.html", context)
