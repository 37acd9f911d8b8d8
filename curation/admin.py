"""The curation admin: image list with thumbnails, like/dislike actions, promotion, purge, review page.

Thin by design: every action parses the request and calls curation.services; reads go through
curation.selectors. Nothing here deletes an image row except the confirmed purge.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from curation import selectors, services
from curation.paginators import EstimatedCountPaginator
from garden import thumbnails
from garden.models import Emotion, Image, Visitor

PROMOTE_PERMISSION = "curation.promote_image"
PURGE_PERMISSION = "curation.purge_image"


class CachedValuesFilter(admin.SimpleListFilter):
    """Choices from a cached DISTINCT: the stock AllValuesFieldListFilter scans the table per page."""

    field = ""

    def lookups(self, request, model_admin):
        return [(value, value) for value in selectors.distinct_values(field=self.field)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class FavoriteFilter(CachedValuesFilter):
    title = "favorite"
    parameter_name = field = "favorite"


class GeneratorFilter(CachedValuesFilter):
    title = "generator"
    parameter_name = field = "generator"


class ModelFilter(CachedValuesFilter):
    title = "model"
    parameter_name = field = "model_id"


class CurationChangeList(ChangeList):
    # Always order by an indexed pair: the admin would otherwise append "-pk" to a single-field
    # sort, which PostgreSQL cannot serve from image_newest_idx.
    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        return ["-created_at", "-id"] if ordering in (["-created_at", "-id", "-pk"], ["-pk"]) else ordering


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _report(model_admin, request, result: services.BulkResult, verb: str) -> None:
    if result.changed:
        model_admin.message_user(request, f"{verb} {len(result.changed)} image(s).", messages.SUCCESS)
    if result.failed:
        model_admin.message_user(request, f"{len(result.failed)} image(s) could not be {verb.lower()}: see the log.", messages.ERROR)
    if not result.changed and not result.failed:
        model_admin.message_user(request, f"Nothing to {verb.lower().rstrip('d')}: no selected image was eligible.", messages.WARNING)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "key", "status", "kept", "emotion", "favorite", "orientation", "generator", "seed", "created_at")
    list_display_links = ("key",)
    list_filter = (
        "status",
        "kept",
        "emotion",
        FavoriteFilter,
        "orientation",
        GeneratorFilter,
        ModelFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("key", "prompt")
    search_help_text = "Search the key or the prompt; a number also matches the seed exactly."
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
        "purge_selected",
        "make_thumbnails",
    ]
    readonly_fields = (
        "preview",
        "key",
        "status",
        "kept",
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
        "thumbnail_key",
        "created_at",
        "promoted_at",
        "rejected_at",
    )
    fields = readonly_fields

    # --- permissions: no hand-made rows, no hard delete except the confirmed purge -----------------

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_promote_permission(self, request):
        return request.user.has_perm(PROMOTE_PERMISSION)

    def has_purge_permission(self, request):
        return request.user.has_perm(PURGE_PERMISSION)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The stock bulk delete bypasses services and deletes files' rows for good: never offered.
        actions.pop("delete_selected", None)
        return actions

    def get_changelist(self, request, **kwargs):
        return CurationChangeList

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.lstrip("-").isdigit() and abs(int(term)) < 2**63:
            queryset |= self.model.objects.filter(seed=int(term))
        return queryset, may_have_duplicates

    # --- columns ------------------------------------------------------------------------------------

    @admin.display(description="")
    def thumbnail(self, obj):
        return format_html(
            '<img src="{}" alt="" loading="lazy" decoding="async" width="{}" height="{}" style="object-fit:cover;border-radius:3px">',
            selectors.thumbnail_url(obj),
            96 if obj.orientation == Image.Orientation.LANDSCAPE else 60,
            60 if obj.orientation == Image.Orientation.LANDSCAPE else 96,
        )

    @admin.display(description="preview")
    def preview(self, obj):
        return format_html('<img src="{}" alt="" style="max-width:640px;max-height:640px">', default_storage.url(obj.key))

    # --- actions (each calls one service; the service writes the admin log) ------------------------

    @admin.action(permissions=["change"], description="Keep (like) selected images")
    def keep_selected(self, request, queryset):
        _report(self, request, services.decide(images=queryset, decision=services.Decision.KEEP, user=request.user), "Kept")

    @admin.action(permissions=["change"], description="Reject (dislike) selected images — soft, undoable")
    def reject_selected(self, request, queryset):
        _report(self, request, services.decide(images=queryset, decision=services.Decision.REJECT, user=request.user), "Rejected")

    @admin.action(permissions=["change"], description="Undo: back to undecided (un-reject, un-keep)")
    def undo_selected(self, request, queryset):
        _report(self, request, services.decide(images=queryset, decision=services.Decision.PENDING, user=request.user), "Reset")

    @admin.action(permissions=["promote"], description="Promote selected to serving (kiosks see them at once)")
    def promote_selected(self, request, queryset):
        _report(self, request, services.promote(images=queryset, user=request.user), "Promoted")

    @admin.action(permissions=["promote"], description="Demote selected back to the pool")
    def demote_selected(self, request, queryset):
        _report(self, request, services.demote(images=queryset, user=request.user), "Demoted")

    @admin.action(permissions=["purge"], description="Purge selected rejected images (deletes files)…")
    def purge_selected(self, request, queryset):
        rejected = queryset.filter(status=Image.Status.REJECTED)
        if request.POST.get("confirm") == "yes":
            purged = services.purge(images=rejected, user=request.user)
            self.message_user(request, f"Purged {purged} rejected image(s); their files are deleted.", messages.SUCCESS)
            return None
        return self._purge_confirmation(request, count=rejected.count(), selected=queryset.values_list("pk", flat=True))

    @admin.action(permissions=["change"], description="Generate missing thumbnails")
    def make_thumbnails(self, request, queryset):
        made, failed = thumbnails.generate_missing_thumbnails(queryset=queryset)
        self.message_user(request, f"Made {made} thumbnail(s); {failed} failed.", messages.ERROR if failed else messages.SUCCESS)

    # --- extra admin views --------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("review/", wrap(self.review_view), name="garden_image_review"),
            # Not admin_view: a script gets a JSON 403, not a login page; CSRF still enforced.
            path("review/decide/", csrf_protect(never_cache(require_POST(self.decide_api))), name="garden_image_decide"),
            path("promote-kept/", wrap(self.promote_kept_view), name="garden_image_promote_kept"),
            path("purge-rejected/", wrap(self.purge_rejected_view), name="garden_image_purge_rejected"),
            path("<int:pk>/thumbnail/", wrap(self.thumbnail_view), name="garden_image_thumbnail"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_promote": self.has_promote_permission(request),
            "can_purge": self.has_purge_permission(request),
            "can_review": self.has_change_permission(request),
            "can_generate": GenerationJob is not None and request.user.has_perm("generation.add_generationjob"),
            "generate_url": reverse("admin:generation_generationjob_add") if GenerationJob is not None else "",
        }
        return super().changelist_view(request, extra_context)

    def _review_filters(self, request) -> dict:
        emotion = request.GET.get("emotion", "")
        if emotion and emotion not in Emotion.values:
            emotion = ""
        favorite = request.GET.get("favorite")
        job = None
        if GenerationJob is not None and request.GET.get("job"):
            job = GenerationJob.objects.filter(pk=request.GET["job"]).first() if _is_uuid(request.GET["job"]) else None
        return {"emotion": emotion, "favorite": favorite or None, "job": job}

    def review_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        scope = request.GET.get("scope", selectors.Scope.PENDING)
        if scope not in selectors.Scope.CHOICES:
            scope = selectors.Scope.PENDING
        filters = self._review_filters(request)
        items = selectors.review_items(queryset=selectors.review_queryset(scope=scope, **filters))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Review images",
            "items": items,
            "counts": selectors.review_counts(**filters),
            "scope": scope,
            "scopes": selectors.Scope.CHOICES,
            "emotion": filters["emotion"],
            "favorite": filters["favorite"] or "",
            "job": filters["job"],
            "emotions": Emotion.values,
            "can_promote": self.has_promote_permission(request),
            "decide_url": reverse("admin:garden_image_decide"),
            "config": {
                "decideUrl": reverse("admin:garden_image_decide"),
                "emotion": filters["emotion"],
                "favorite": filters["favorite"],
                "job": str(filters["job"].pk) if filters["job"] else None,
            },
        }
        return TemplateResponse(request, "admin/garden/image/review.html", context)

    def decide_api(self, request):
        """POST {"ids": [..], "decision": "keep|reject|pending"} → the images' new states and counts.

        Session auth + CSRF token (X-CSRFToken header), staff with garden.change_image; answers
        JSON 403 instead of redirecting to the login page, since its caller is a script.
        """
        if not (request.user.is_active and request.user.is_staff):
            return JsonResponse({"error": "Staff login required."}, status=403)
        if not self.has_change_permission(request):
            return JsonResponse({"error": "You may not review images."}, status=403)
        try:
            body = json.loads(request.body or b"{}")
            ids = [int(pk) for pk in body.get("ids", [])]
            decision = services.Decision(body.get("decision"))
        except (ValueError, TypeError, AttributeError):
            return JsonResponse({"error": 'Expected {"ids": [int, ...], "decision": "keep"|"reject"|"pending"}.'}, status=400)
        if not ids or len(ids) > 1000:
            return JsonResponse({"error": "Send between 1 and 1000 ids."}, status=400)
        result = services.decide(images=self.model.objects.filter(pk__in=ids), decision=decision, user=request.user)
        rows = self.model.objects.filter(pk__in=ids).values_list("pk", "status", "kept")
        states = [{"id": pk, "status": status, "kept": kept} for pk, status, kept in rows]
        filters = {"emotion": body.get("emotion") or "", "favorite": body.get("favorite") or None, "job": None}
        if filters["emotion"] not in Emotion.values:
            filters["emotion"] = ""
        if GenerationJob is not None and _is_uuid(body.get("job")):
            filters["job"] = GenerationJob.objects.filter(pk=body["job"]).first()
        return JsonResponse(
            {"images": states, "failed": {str(k): v for k, v in result.failed.items()}, **selectors.review_counts(**filters)}
        )

    def thumbnail_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        image = get_object_or_404(self.model, pk=pk)
        try:
            key = thumbnails.ensure_thumbnail(image=image)
        except FileNotFoundError:
            raise Http404("The image file is missing.") from None
        response = HttpResponseRedirect(default_storage.url(key))
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def promote_kept_view(self, request):
        if not self.has_promote_permission(request):
            raise PermissionDenied
        kept = self.model.objects.filter(status=Image.Status.POOL, kept=True)
        if request.method == "POST":
            _report(self, request, services.promote_kept(user=request.user), "Promoted")
            return HttpResponseRedirect(reverse("admin:garden_image_changelist") + "?status__exact=serving")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Promote all kept images",
            "count": kept.count(),
            "sample": [{"key": i.key, "thumb": selectors.thumbnail_url(i)} for i in kept.only(*selectors.REVIEW_FIELDS)[:24]],
        }
        return TemplateResponse(request, "admin/garden/image/promote_kept.html", context)

    def purge_rejected_view(self, request):
        if not self.has_purge_permission(request):
            raise PermissionDenied
        rejected = services.rejected_images()
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            purged = services.purge(images=rejected, user=request.user)
            self.message_user(request, f"Purged {purged} rejected image(s); their files are deleted.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:garden_image_changelist"))
        return self._purge_confirmation(request, count=rejected.count(), selected=None)

    def _purge_confirmation(self, request, *, count, selected):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Purge rejected images",
            "count": count,
            "selected": list(selected) if selected is not None else None,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/garden/image/purge_confirmation.html", context)


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    """Read-only: visitors are derived labels written by /emotion; curators do not get this right."""

    list_display = ("id", "generation", "gender", "emotion", "first_seen", "last_seen")
    list_filter = ("generation", "gender", "emotion", ("last_seen", admin.DateFieldListFilter))
    search_fields = ("=id",)
    list_per_page = 100
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = ("id", "age_low", "age_high", "generation", "gender", "emotion", "features", "first_seen", "last_seen")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- Generation jobs: the bulk form, live progress, cancel and retry ------------------------------

try:
    from generation.models import GenerationJob
except ImportError:  # generation not installed: the image admin works without it
    GenerationJob = None


if GenerationJob is not None and not admin.site.is_registered(GenerationJob):

    @admin.register(GenerationJob)
    class GenerationJobAdmin(admin.ModelAdmin):
        list_display = (
            "short_id",
            "status",
            "progress_bar",
            "emotion",
            "favorite",
            "size",
            "images_made",
            "backend",
            "created_by",
            "created_at",
        )
        list_display_links = ("short_id",)
        list_filter = ("status", "kind", "backend", "emotion")
        search_fields = ("=id", "prompt")
        list_select_related = ("created_by",)
        list_per_page = 50
        show_full_result_count = False
        actions = ["cancel_selected", "retry_selected"]
        readonly_fields = (
            "id",
            "kind",
            "status",
            "progress_bar",
            "queue_position",
            "emotion",
            "favorite",
            "emotion_text",
            "others",
            "prompt",
            "negative_prompt",
            "width",
            "height",
            "steps",
            "guidance",
            "seed",
            "count",
            "backend",
            "model_id",
            "scheduler",
            "queue",
            "images_done",
            "images_total",
            "error",
            "attempts",
            "resends",
            "worker",
            "timings",
            "created_by",
            "created_at",
            "enqueued_at",
            "started_at",
            "finished_at",
            "job_images",
        )
        fields = readonly_fields

        class Media:
            js = ("curation/jobs.js",)

        def has_delete_permission(self, request, obj=None):
            return False  # a job is the record of where pool images came from

        def get_actions(self, request):
            actions = super().get_actions(request)
            actions.pop("delete_selected", None)
            return actions

        @admin.display(description="job")
        def short_id(self, obj):
            return str(obj.pk)[:8]

        @admin.display(description="size")
        def size(self, obj):
            return f"{obj.width}x{obj.height}"

        @admin.display(description="images")
        def images_made(self, obj):
            return f"{obj.images_done}/{obj.images_total}"

        @admin.display(description="progress")
        def progress_bar(self, obj):
            return format_html(
                '<span class="job-progress" data-job="{}" data-finished="{}"><progress max="1" value="{}"></progress> '
                '<span class="job-progress-text">{}%</span></span>',
                obj.pk,
                "1" if obj.is_finished else "0",
                obj.progress,
                round(obj.progress * 100),
            )

        @admin.display(description="queue position")
        def queue_position(self, obj):
            from generation.selectors import job_queue_position

            position = job_queue_position(obj)
            return "–" if position is None else position

        @admin.display(description="images")
        def job_images(self, obj):
            images = obj.images.order_by("pk").only(*selectors.REVIEW_FIELDS)
            tags = format_html_join(
                "",
                '<a href="{}"><img src="{}" alt="{}" title="{}" height="64" loading="lazy" style="margin:2px"></a>',
                (
                    (reverse("admin:garden_image_change", args=[i.pk]), selectors.thumbnail_url(i), i.key, f"{i.key} ({i.status})")
                    for i in images
                ),
            )
            review = reverse("admin:garden_image_review") + f"?job={obj.pk}"
            return format_html('<div>{}</div><p><a class="button" href="{}">Review this batch</a></p>', tags, review)

        # actions and views call curation.services, which also write the admin log
        @admin.action(permissions=["change"], description="Cancel selected jobs")
        def cancel_selected(self, request, queryset):
            count = services.cancel_jobs(jobs=queryset, user=request.user)
            self.message_user(request, f"Cancelled {count} job(s).", messages.SUCCESS if count else messages.WARNING)

        @admin.action(permissions=["change"], description="Retry selected failed or cancelled jobs")
        def retry_selected(self, request, queryset):
            count = services.retry_jobs(jobs=queryset, user=request.user)
            self.message_user(request, f"Queued {count} job(s) again.", messages.SUCCESS if count else messages.WARNING)

        def get_urls(self):
            wrap = self.admin_site.admin_view
            return [
                path("progress/", wrap(self.progress_view), name="generation_generationjob_progress"),
                path("<uuid:pk>/cancel/", wrap(self.cancel_view), name="generation_generationjob_cancel"),
                path("<uuid:pk>/retry/", wrap(self.retry_view), name="generation_generationjob_retry"),
                *super().get_urls(),
            ]

        def add_view(self, request, form_url="", extra_context=None):
            """The bulk-generation form replaces the stock add form."""
            from curation.forms import BulkGenerationForm
            from generation.services import JobParameterError

            if not self.has_add_permission(request):
                raise PermissionDenied
            form = BulkGenerationForm(request.POST or None)
            if request.method == "POST" and form.is_valid():
                try:
                    job = services.start_bulk_generation(user=request.user, **form.job_parameters())
                except JobParameterError as exc:
                    form.add_error(None, str(exc))
                else:
                    self.message_user(request, f"Started job {str(job.pk)[:8]}: {job.images_total} images into the pool.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:generation_generationjob_changelist"))
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Generate a batch",
                "form": form,
                "media": self.media + form.media,
            }
            return TemplateResponse(request, "admin/generation/generationjob/generate.html", context)

        def progress_view(self, request):
            """GET ?id=…&id=… → status, progress and queue position of those jobs (polled by jobs.js)."""
            from generation.selectors import job_queue_position

            if not self.has_view_permission(request):
                raise PermissionDenied
            ids = request.GET.getlist("id")[:100]
            try:
                jobs = list(self.model.objects.filter(pk__in=ids))
            except Exception:  # malformed UUIDs
                return JsonResponse({"error": "bad id"}, status=400)
            return JsonResponse(
                {
                    "jobs": [
                        {
                            "id": str(job.pk),
                            "status": job.status,
                            "progress": job.progress,
                            "images_done": job.images_done,
                            "images_total": job.images_total,
                            "queue_position": job_queue_position(job),
                            "finished": job.is_finished,
                            "error": job.error[:300],
                        }
                        for job in jobs
                    ]
                }
            )

        def _job_post(self, request, pk, service):
            if request.method != "POST":
                return HttpResponseRedirect(reverse("admin:generation_generationjob_change", args=[pk]))
            if not self.has_change_permission(request):
                raise PermissionDenied
            job = get_object_or_404(self.model, pk=pk)
            done = service(jobs=[job], user=request.user)
            if done:
                self.message_user(request, "Done.", messages.SUCCESS)
            else:
                self.message_user(request, f"Nothing to do: the job is {job.status}.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:generation_generationjob_change", args=[pk]))

        def cancel_view(self, request, pk):
            return self._job_post(request, pk, services.cancel_jobs)

        def retry_view(self, request, pk):
            return self._job_post(request, pk, services.retry_jobs)
