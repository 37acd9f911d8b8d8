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
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from curation import selectors, services
from curation.forms import BulkGenerationForm, passes_text
from garden import words
from generation import kinds, progress, served_names
from generation.models import GenerationJob
from generation.requests import JobParameterError
from generation.selectors import job_queue_position, queue_warnings
from library import selectors as library


def _started(jobs: list[GenerationJob]) -> str:
    """``Started job 1a2b3c4d (Happy): 20 images into the pool. Each picture is painted …`` or the
    same for several jobs (one form: the same settings, so one sentence on how they paint)."""
    images = sum(job.images_total for job in jobs)
    names = ", ".join(f"{str(job.pk)[:8]} ({job.get_emotion_display()})" for job in jobs)
    started = ngettext("Started job %(names)s", "Started %(count)d jobs %(names)s", len(jobs)) % {"count": len(jobs), "names": names}
    text = ngettext("%(started)s: %(images)d image into the pool.", "%(started)s: %(images)d images into the pool.", images) % {
        "started": started,
        "images": images,
    }
    return f"{text} {_passes(jobs[0])}"


def _passes(job: GenerationJob) -> str:
    return passes_text(width=job.width, height=job.height, steps=job.steps, options=job.options, backend=job.backend)


# The phases a worker times (generation.tasks' ``timings``), in words; another key shows as it is.
TIMING_NAMES = {
    "load": gettext_lazy("loading the model"),
    "generate": gettext_lazy("painting"),
    "store": gettext_lazy("storing the pictures"),
    "thumbnails": gettext_lazy("making the thumbnails"),
}


def _seconds(value: float) -> str:
    return _("%(seconds)s s") % {"seconds": formats.number_format(value, 1)}


class KindFilter(admin.SimpleListFilter):
    """Generation's own kinds and those apps above register (generation.kinds: the column has no choices)."""

    title = gettext_lazy("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return kinds.choices()

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "status_and_notice",
        "progress_bar",
        "emotion",
        "favorite_name",
        "model_name",
        "size",
        "images_made",
        "backend",
        "origin",
        "created",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", KindFilter, "backend", "emotion")
    search_fields = ("=id", "prompt")
    list_select_related = ("created_by",)
    list_per_page = 50
    show_full_result_count = False
    actions = ["cancel_selected", "retry_selected"]
    readonly_fields = (
        "id",
        "kind_label",
        "status",
        "stage_now",
        "progress_bar",
        "queue_position",
        "emotion",
        "favorite_name",
        "emotion_text",
        "others",
        "prompt",
        "negative_prompt",
        "width",
        "height",
        "steps",
        "passes",
        "guidance",
        "seed",
        "count",
        "backend",
        "origin",
        "model_name",
        "scheduler",
        "queue",
        "images_made",
        "error",
        "notice",
        "attempts",
        "resends",
        "worker",
        "timings_table",
        "created_by",
        "created_at",
        "enqueued_at",
        "started_at",
        "finished_at",
        "job_images",
    )
    fields = readonly_fields

    class Media:
        js = ("curation/jobs.js",)  # its words: the static catalog the job templates load

    def has_delete_permission(self, request, obj=None):
        return False  # a job is the record of where pool images came from (and the bulk delete is not offered)

    @admin.display(description=gettext_lazy("job"))
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_and_notice(self, obj):
        """``running`` or ``running — Worker lost (…); resumed (attempt 2 of 3).``"""
        status = obj.get_status_display()
        return f"{status} — {obj.notice}" if obj.notice else status

    @admin.display(description=gettext_lazy("kind"), ordering="kind")
    def kind_label(self, obj):
        return kinds.label(obj.kind)

    @admin.display(description="API")  # a code, the same in every language (tests/curation/test_admin_languages.py)
    def origin(self, obj):
        """The API a client's job came through (``a1111``, ``comfy``: generation.requests.ORIGINS); "—" for the garden's own."""
        return (obj.options or {}).get("origin") or "—"

    @admin.display(description=gettext_lazy("model"), ordering="model")
    def model_name(self, obj):
        """The library model's name, else the backend's model (a hub id or a folder's name): never its
        path on the server (the library entry's page has that)."""
        return obj.model or served_names.model_id(obj.model_id) or obj.backend

    @admin.display(description=gettext_lazy("passes"))
    def passes(self, obj):
        """One pass, or the hires fix's two with their steps (``steps_total`` counts both)."""
        return _passes(obj)

    @admin.display(description=gettext_lazy("size"))
    def size(self, obj):
        return f"{obj.width}x{obj.height}"

    @admin.display(description=gettext_lazy("favorite"), ordering="favorite")
    def favorite_name(self, obj):
        """ "Winter, Sunny, Early dawn" in the page's language, not the key's "winter,sunny,the-early-dawn"."""
        return words.favorite_words(obj.favorite) if obj.favorite else "—"

    @admin.display(description=gettext_lazy("stage"))
    def stage_now(self, obj):
        """What the job does now, as the list says it: a finished job's final status, not the stage
        it was last in ("Painting")."""
        return progress.stage_text(obj)

    @admin.display(description=gettext_lazy("timings"))
    def timings_table(self, obj):
        """Seconds per phase of the job, as a table (the stored JSON, read)."""
        rows = [(name, value) for name, value in (obj.timings or {}).items() if isinstance(value, int | float)]
        if not rows:
            return "—"
        body = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', ((TIMING_NAMES.get(n, n), _seconds(v)) for n, v in rows))
        head = format_html('<thead><tr><th scope="col">{}</th><th scope="col">{}</th></tr></thead>', _("phase"), _("seconds"))
        return format_html('<table class="job-timings">{}<tbody>{}</tbody></table>', head, body)

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, obj):
        """Who and when in one column, two lines (docs/curation.md#list-columns)."""
        return format_html('{}<br><span class="quiet">{}</span>', obj.created_by or "—", formats.localize(localtime(obj.created_at)))

    @admin.display(description=gettext_lazy("images made"))
    def images_made(self, obj):
        """Pictures stored of the job's total; jobs.js keeps it in step with the progress cell."""
        return format_html('<span class="job-images" data-job="{}">{}/{}</span>', obj.pk, obj.images_done, obj.images_total)

    @admin.display(description=gettext_lazy("progress"))
    def progress_bar(self, obj):
        """The share of the job's time done (generation.progress.share_done; jobs.js follows it at
        the worker's own pace), so that it agrees with the images made."""
        share = progress.share_done(obj)
        return format_html(
            '<span class="job-progress" data-job="{}" data-finished="{}"><progress max="1" value="{}"></progress> '
            '<span class="job-progress-text">{}%</span></span>',
            obj.pk,
            "1" if obj.is_finished else "0",
            share,
            round(share * 100),
        )

    @admin.display(description=gettext_lazy("queue position"))
    def queue_position(self, obj):
        position = job_queue_position(obj)
        return "–" if position is None else position

    @admin.display(description=gettext_lazy("images"))
    def job_images(self, obj):
        images = obj.images.order_by("pk").only(*selectors.REVIEW_FIELDS)
        tags = format_html_join(
            "",
            '<a href="{}"><img src="{}" alt="{}" title="{}" height="64" loading="lazy" style="margin:2px"></a>',
            (
                (
                    reverse("admin:garden_image_change", args=[i.pk]),
                    selectors.thumbnail_url(i),
                    i.key,
                    f"{i.key} ({i.get_status_display()})",
                )
                for i in images
            ),
        )
        review = reverse("curation:review") + f"?job={obj.pk}"
        return format_html('<div>{}</div><p><a class="button" href="{}">{}</a></p>', tags, review, _("Review this batch"))

    # actions and views call curation.services, which also write the admin log
    @admin.action(permissions=["change"], description=gettext_lazy("Cancel selected jobs"))
    def cancel_selected(self, request, queryset):
        count = services.cancel_jobs(jobs=queryset, user=request.user)
        self.message_user(
            request, ngettext("Cancelled %d job.", "Cancelled %d jobs.", count) % count, messages.SUCCESS if count else messages.WARNING
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Retry selected failed or cancelled jobs"))
    def retry_selected(self, request, queryset):
        refused = {job.pk: why for job in queryset if (why := library.model_problem(job.model))}  # its model cannot paint now
        for pk, why in refused.items():
            self.message_user(request, _("Job %(job)s not queued again: %(why)s") % {"job": str(pk)[:8], "why": why}, messages.ERROR)
        count = services.retry_jobs(jobs=queryset.exclude(pk__in=refused), user=request.user)
        self.message_user(
            request,
            ngettext("Queued %d job again.", "Queued %d jobs again.", count) % count,
            messages.SUCCESS if count else messages.WARNING,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("progress/", wrap(self.progress_view), name="generation_generationjob_progress"),
            path("plan/", wrap(self.plan_view), name="generation_generationjob_plan"),
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
            "title": _("Generate a batch"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/generation/generationjob/generate.html", context)

    def plan_view(self, request):
        """GET with the bulk form's fields → ``{"plan": "…"}``: what Generate would start (jobs.js asks as they change)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return JsonResponse({"plan": BulkGenerationForm(request.GET).plan()})

    def progress_view(self, request):
        """GET ?id=…&id=… → status, progress and queue position of those jobs (polled by jobs.js)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = request.GET.getlist("id")[:100]
        try:
            jobs = list(self.model.objects.filter(pk__in=ids))
        except ValidationError:  # malformed UUIDs
            return JsonResponse({"error": "bad id"}, status=400)
        estimates = progress.Estimates()
        return JsonResponse(
            {
                "jobs": [
                    {
                        "id": str(job.pk),
                        "status": job.status,
                        "stage": progress.stage(job),
                        "stage_text": progress.stage_text(job),
                        "estimate_seconds": progress.estimate_seconds(job, estimates),
                        "estimate_missing": estimates.missing(job),
                        "progress": estimates.share(job),
                        "images_done": job.images_done,
                        "images_total": job.images_total,
                        "queue_position": estimates.position(job),
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
        why = library.model_problem(job.model) if service is services.retry_jobs else ""
        if why:  # a retry would fail again: its model cannot paint now
            self.message_user(request, _("Not queued again: %(why)s") % {"why": why}, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:generation_generationjob_change", args=[pk]))
        done = service(jobs=[job], user=request.user)  # the services refresh ``job``
        if done:
            self.message_user(request, _what_happened(job), messages.SUCCESS)
        else:
            self.message_user(
                request,
                _("Nothing to do: job %(job)s is %(status)s.") % {"job": str(job.pk)[:8], "status": job.get_status_display().lower()},
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:generation_generationjob_change", args=[pk]))

    def cancel_view(self, request, pk):
        return self._job_post(request, pk, services.cancel_jobs)

    def retry_view(self, request, pk):
        return self._job_post(request, pk, services.retry_jobs)


def _what_happened(job: GenerationJob) -> str:
    """What a Cancel or Retry button did to ``job`` (its state just after), instead of "Done."."""
    words = {"job": str(job.pk)[:8], "done": job.images_done, "total": job.images_total, "queue": job.queue}
    if job.status == GenerationJob.Status.QUEUED:
        words["position"] = job_queue_position(job)
        if job.images_done:
            return (
                _(
                    "Job %(job)s queued again: position %(position)s in queue %(queue)s; "
                    "it keeps the %(done)d of %(total)d images it made and makes the rest."
                )
                % words
            )
        return _("Job %(job)s queued again: position %(position)s in queue %(queue)s.") % words
    if job.status == GenerationJob.Status.CANCELLED:
        return _("Job %(job)s cancelled (%(done)d of %(total)d images made; they stay in the pool).") % words
    if job.cancel_requested:
        return (
            _("Job %(job)s: cancel requested; it stops after its current step (%(done)d of %(total)d images made so far stay in the pool).")
            % words
        )
    return _("Job %(job)s is %(status)s.") % {**words, "status": job.get_status_display().lower()}
