"""Curators' view of the gardener: its policy (one row + per-emotion overrides), the word bank its
prompt mutations draw from, its action log and its report (``report/``, also linked from the
insights page)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from gardener import reasons, report, selectors, services, status
from gardener.models import EmotionPolicy, GardenerAction, GardenerPolicy, WordBank


@admin.register(EmotionPolicy)
class EmotionPolicyAdmin(admin.ModelAdmin):
    """One row per emotion that differs from the global policy; an empty field inherits it."""

    list_display = [
        "emotion",
        "enabled",
        "target_per_key",
        "minimum_per_key",
        "promotion_mode",
        "retire_min_impressions",
        "retire_probability",
    ]


@admin.register(GardenerPolicy)
class GardenerPolicyAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["state", "enabled", "promotion_mode"]}),
        (gettext_lazy("Serving images per search key"), {"fields": ["target_per_key", "minimum_per_key"]}),
        (gettext_lazy("Budget"), {"fields": ["daily_image_budget", "daily_gpu_minutes", "pool_backlog_limit", "images_per_job"]}),
        (gettext_lazy("Retirement"), {"fields": ["retire_min_impressions", "retire_probability"]}),
        (gettext_lazy("Breeding"), {"fields": ["bred_share", "trial_pairs"]}),
    ]

    readonly_fields = ["state"]

    @admin.display(description=gettext_lazy("What it does now"))
    def state(self, obj: GardenerPolicy) -> str:
        return status.state_sentence(obj)

    def save_model(self, request, obj, form, change):
        obj.set_by_demo = False  # a curator's policy now: leaving the demo leaves it alone
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the row itself (created on first read).
        policy = selectors.global_policy()
        return HttpResponseRedirect(reverse("admin:gardener_gardenerpolicy_change", args=[policy.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WordBank)
class WordBankAdmin(admin.ModelAdmin):
    """Words a diffusers child's prompt may gain: a key draws from every row of its emotion (or of
    every emotion) whose favorite word is in its favorite (or empty)."""

    list_display = ["__str__", "emotion", "favorite", "word_count", "enabled", "updated_at"]
    list_filter = ["enabled", "emotion", "favorite"]
    search_fields = ["words"]
    fields = ["emotion", "favorite", "words", "enabled"]

    @admin.display(description=gettext_lazy("words"))
    def word_count(self, obj: WordBank) -> int:
        return len(obj.word_list())


@admin.register(GardenerAction)
class GardenerActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "search_key", "image", "job", "worded_reason", "undone_at"]
    list_filter = ["kind", ("undone_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["search_key", "reason", "image__key"]
    date_hierarchy = "created_at"
    readonly_fields = [*(f.name if f.name != "reason" else "worded_reason" for f in GardenerAction._meta.fields)]
    list_select_related = ["image", "job", "undoes"]
    actions = ["undo_actions"]

    @admin.display(description=gettext_lazy("reason"), ordering="reason")
    def worded_reason(self, obj: GardenerAction) -> str:
        """The stored English reason in the curator's language (gardener.reasons)."""
        undone = obj.undoes
        return reasons.worded(obj.reason, undone_kind=undone.get_kind_display() if undone is not None else "")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the log is read-only; "Undo" is the one way to act on it

    def get_urls(self):
        report_view = self.admin_site.admin_view(self.report_view)
        return [path("report/", report_view, name="gardener_report"), *super().get_urls()]

    def report_view(self, request):
        """Keys against their target, actions over time, bred against parents and fresh (analysts too)."""
        if not report.may_read(request.user):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Gardener report"),
            **report.report_context(),
        }
        return TemplateResponse(request, "admin/gardener/report.html", context)

    def has_undo_permission(self, request):
        # Undo needs to move images (garden.change_image), not to edit log rows.
        return request.user.has_perm("garden.change_image")

    @admin.action(permissions=["undo"], description=gettext_lazy("Undo the selected gardener actions"))
    def undo_actions(self, request, queryset):
        done, refused = 0, []
        for action in queryset.order_by("created_at"):
            try:
                services.undo(action=action, user=request.user)
                done += 1
            except services.NotUndoable as exc:
                refused.append(f"#{action.pk} ({action.get_kind_display()}): {exc.message}")
        if done:
            self.message_user(request, ngettext("Undid %d action.", "Undid %d actions.", done) % done, messages.SUCCESS)
        for text in refused:
            self.message_user(request, _("Not undone: %(reason)s") % {"reason": text}, messages.WARNING)
