"""Generation jobs in the admin: the bulk-generation form, live progress, cancel and retry.

Actions and views call curation.services, which also write the admin log.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from curation import selectors, services
from curation.forms import BulkGenerationForm
from generation.models import GenerationJob
from generation.requests import JobParameterError
from generation.selectors import job_queue_position, queue_warnings


def _started(jobs: list[GenerationJob]) -> str:
    """``Started job 1a2b3c4d (happy): 20 images into the pool.`` or the same for several jobs."""
    images = sum(job.images_total for job in jobs)
    names = ", ".join(f"{str(job.pk)[:8]} ({job.emotion})" for job in jobs)
    return f"Started {'job' if len(jobs) == 1 else f'{len(jobs)} jobs'} {names}: {images} images into the pool."


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "status_and_notice",
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
        "notice",
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

    @admin.display(description="status", ordering="status")
    def status_and_notice(self, obj):
        """``running`` or ``running — Worker lost (…); resumed (attempt 2 of 3).``"""
        return f"{obj.status} — {obj.notice}" if obj.notice else obj.status

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
        review = reverse("curation:review") + f"?job={obj.pk}"
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

    def changelist_view(self, request, extra_context=None):
        """The list, with a banner when jobs wait in a queue that no worker consumes."""
        return super().changelist_view(request, {**(extra_context or {}), **self._banner(request)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A job's page, with the same banner as the list. Every field is read-only: no Save buttons
        (Cancel and Retry are the page's own buttons)."""
        read_only = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **read_only, **self._banner(request)})

    def _banner(self, request) -> dict:
        return {"queue_warnings": queue_warnings()} if request.method == "GET" else {}

    def add_view(self, request, form_url="", extra_context=None):
        """The bulk-generation form replaces the stock add form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BulkGenerationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                jobs = services.start_bulk_batches(user=request.user, requests=form.job_requests())
            except JobParameterError as exc:
                form.show_errors(exc)
            else:
                self.message_user(request, _started(jobs), messages.SUCCESS)
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
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = request.GET.getlist("id")[:100]
        try:
            jobs = list(self.model.objects.filter(pk__in=ids))
        except ValidationError:  # malformed UUIDs
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
        done = service(jobs=[job], user=request.user)  # the services refresh ``job``
        if done:
            self.message_user(request, _what_happened(job), messages.SUCCESS)
        else:
            self.message_user(request, f"Nothing to do: job {str(job.pk)[:8]} is {job.status}.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:generation_generationjob_change", args=[pk]))

    def cancel_view(self, request, pk):
        return self._job_post(request, pk, services.cancel_jobs)

    def retry_view(self, request, pk):
        return self._job_post(request, pk, services.retry_jobs)


def _what_happened(job: GenerationJob) -> str:
    """What a Cancel or Retry button did to ``job`` (its state just after), instead of "Done."."""
    name = f"Job {str(job.pk)[:8]}"
    made = f"{job.images_done} of {job.images_total} images"
    if job.status == GenerationJob.Status.QUEUED:
        keeps = f"; it keeps the {made} it made and makes the rest" if job.images_done else ""
        return f"{name} queued again: position {job_queue_position(job)} in queue {job.queue}{keeps}."
    if job.status == GenerationJob.Status.CANCELLED:
        return f"{name} cancelled ({made} made; they stay in the pool)."
    if job.cancel_requested:
        return f"{name}: cancel requested; it stops after its current step ({made} made so far stay in the pool)."
    return f"{name} is {job.status}."
