"""The fleet page: every screen with its status, and a screen's page with its beats, events and
commands (docs/fleet.md). Thin: the status comes from screens.status, changes go through
screens.services (which writes the admin log).

Rights: superusers, and the Screen operators group (``manage.py setup_screen_operators``):
see and add screens, open enrolment links, send commands (``screens.command_screen``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.qr import qr_svg
from config.version import page_version
from screens import selectors, services, status
from screens.forms import CommandForm, ScreenForm
from screens.models import Screen, ScreenCommand

COMMAND_PERMISSION = "screens.command_screen"


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in status.STATUS_LABELS.items()]

    def queryset(self, request, queryset):
        if self.value() in status.STATUSES:
            return queryset.filter(pk__in=selectors.ids_with_status(self.value()))
        return queryset


def enrolment_url(request, token: str) -> str:
    path_ = reverse("screens-enrol-page", kwargs={"token": token})
    base = settings.GARDEN_SHARE_BASE_URL.rstrip("/")
    return f"{base}{path_}" if base else request.build_absolute_uri(path_)


@admin.register(Screen)
class ScreenAdmin(admin.ModelAdmin):
    form = ScreenForm
    list_display = ("__str__", "status_badge", "kind", "location", "last_seen", "camera", "outbox", "errors", "version", "visitors")
    list_filter = (StatusFilter, "kind", "location")
    search_fields = ("name", "location", "zone")
    actions = ["reload", "start_over", "maintenance_on", "maintenance_off", "new_enrolment_link"]
    change_form_template = "admin/screens/screen/change_form.html"
    change_list_template = "admin/screens/screen/change_list.html"

    class Media:
        css = {"all": ("screens/admin.css",)}

    # --- rights ---

    def has_command_permission(self, request, obj=None):
        return request.user.has_perm(COMMAND_PERMISSION)

    # --- columns: each reads the last beat and the status derived now ---

    @admin.display(description=gettext_lazy("status"))
    def status_badge(self, obj):
        found = status.assess(obj, timezone.now())
        return format_html(
            '<span class="screen-status" data-status="{}" title="{}">{}</span>', found.status, "; ".join(found.reasons), found.label
        )

    @admin.display(description=gettext_lazy("last seen"), ordering="last_beat_at")
    def last_seen(self, obj):
        if not obj.last_beat_at:
            return "—"
        seconds = int((timezone.now() - obj.last_beat_at).total_seconds())
        return _("%(seconds)s s ago") % {"seconds": seconds} if seconds < 120 else _("%(minutes)s min ago") % {"minutes": seconds // 60}

    @admin.display(description=gettext_lazy("camera"))
    def camera(self, obj):
        return str((obj.last_beat or {}).get("camera", "—")).replace("_", " ")

    @admin.display(description=gettext_lazy("outbox"))
    def outbox(self, obj):
        box = (obj.last_beat or {}).get("outbox")
        if not box:
            return "—"
        return _("%(count)s, oldest %(seconds)s s") % {"count": box["length"], "seconds": int(box["oldest"])} if box["length"] else "0"

    @admin.display(description=gettext_lazy("errors (5 min)"))
    def errors(self, obj):
        return status.recent_errors(obj.last_beat or {}) if obj.last_beat else "—"

    @admin.display(description=gettext_lazy("page version"))
    def version(self, obj):
        version = (obj.last_beat or {}).get("version")
        if not version:
            return "—"
        if status.outdated(obj.last_beat):
            return format_html(
                '<strong class="screen-outdated" title="{}">{} ({})</strong>', _("server: %s") % page_version(), version, _("older")
            )
        return version

    @admin.display(description=gettext_lazy("visitors today"))
    def visitors(self, obj):
        return obj.visitors_today if obj.visitors_day == timezone.localdate() else 0

    # --- actions: commands go through screens.services (logged there) ---

    def _command(self, request, queryset, kind: str, argument: str = ""):
        sent = skipped = 0
        for screen in queryset:
            try:
                services.issue_command(screen=screen, kind=kind, argument=argument, by=request.user)
                sent += 1
            except DomainError:
                skipped += 1
        if sent:
            text = ngettext(
                "Sent to %(count)s screen; it obeys at its next beat.", "Sent to %(count)s screens; each obeys at its next beat.", sent
            )
            self.message_user(request, text % {"count": sent}, messages.SUCCESS)
        if skipped:
            text = ngettext(
                "%(count)s unenrolled screen skipped: commands go to enrolled screens only.",
                "%(count)s unenrolled screens skipped: commands go to enrolled screens only.",
                skipped,
            )
            self.message_user(request, text % {"count": skipped}, messages.WARNING)

    @admin.action(description=gettext_lazy("Reload the page"), permissions=["command"])
    def reload(self, request, queryset):
        self._command(request, queryset, ScreenCommand.Kind.RELOAD)

    @admin.action(description=gettext_lazy("Start over (as the idle reset)"), permissions=["command"])
    def start_over(self, request, queryset):
        self._command(request, queryset, ScreenCommand.Kind.START_OVER)

    @admin.action(description=gettext_lazy("Maintenance screen on"), permissions=["command"])
    def maintenance_on(self, request, queryset):
        self._command(request, queryset, ScreenCommand.Kind.MAINTENANCE_ON)

    @admin.action(description=gettext_lazy("Maintenance screen off"), permissions=["command"])
    def maintenance_off(self, request, queryset):
        self._command(request, queryset, ScreenCommand.Kind.MAINTENANCE_OFF)

    @admin.action(description=gettext_lazy("New enrolment link (the device must open it again)"), permissions=["change"])
    def new_enrolment_link(self, request, queryset):
        for screen in queryset.exclude(anonymous_id__gt=""):
            services.open_enrolment(screen=screen, by=request.user)
        self.message_user(request, _("New enrolment links are on each screen's page."), messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_command_permission(request):
            for code, name in settings.LANGUAGES:
                actions[f"language_{code}"] = (
                    self._language_action(code),
                    f"language_{code}",
                    _("Switch the language to %(name)s") % {"name": name},
                )
        return actions

    def _language_action(self, code: str):
        def switch(modeladmin, request, queryset):
            modeladmin._command(request, queryset, ScreenCommand.Kind.LANGUAGE, code)

        return switch

    # --- pages ---

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            services.open_enrolment(screen=obj)  # a new screen comes with its enrolment link

    def response_add(self, request, obj, post_url_continue=None):
        """After Save, the new screen's page at its enrolment link and QR code (the next thing an
        operator needs), with a message that says where; "Save and add another" and pop-ups as Django's."""
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        text = _(
            "“%(name)s” was added. Its enrolment link and QR code are below: open the link once on the screen's device"
            " within %(hours)s hours."
        ) % {"name": obj, "hours": f"{settings.SCREENS_ENROL_HOURS:g}"}
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:screens_screen_change", args=[obj.pk]) + "#enrolment")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/enrolment.svg", wrap(self.enrolment_qr), name="screens_screen_enrolment_qr"),
            path("<int:pk>/command/", wrap(require_POST(self.command_view)), name="screens_screen_command"),
            path("<int:pk>/enrolment/", wrap(require_POST(self.enrolment_view)), name="screens_screen_enrolment"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        counts = selectors.summary().counts
        extra = {"status_counts": [(key, status.STATUS_LABELS[key], counts[key]) for key in status.STATUSES], "now": timezone.now()}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        screen = self.get_object(request, object_id)
        extra = {}
        if screen is not None:
            token = services.enrolment_token(screen) if self.has_change_permission(request, screen) else None
            extra = {
                "screen": screen,
                "assessment": status.assess(screen, timezone.now()),
                "enrolment_url": enrolment_url(request, token) if token else "",
                "can_command": self.has_command_permission(request) and screen.enrolled,
                "command_kinds": ScreenCommand.Kind.choices,
                "languages": settings.LANGUAGES,
                "server_version": page_version(),
                **selectors.history(screen),
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def enrolment_qr(self, request, pk: int):
        screen = get_object_or_404(Screen, pk=pk)
        if not self.has_change_permission(request, screen):
            raise PermissionDenied
        token = services.enrolment_token(screen)
        if token is None:
            return HttpResponse(status=404)
        response = HttpResponse(qr_svg(enrolment_url(request, token)), content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"
        return response

    def command_view(self, request, pk: int):
        screen = get_object_or_404(Screen, pk=pk)
        if not self.has_command_permission(request):
            raise PermissionDenied
        form = CommandForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Choose a command."), messages.ERROR)
        else:
            try:
                command = services.issue_command(
                    screen=screen, kind=form.cleaned_data["kind"], argument=form.cleaned_data["argument"], by=request.user
                )
                self.message_user(
                    request, _("“%(command)s” sent; the screen obeys at its next beat.") % {"command": command}, messages.SUCCESS
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:screens_screen_change", args=[screen.pk]))

    def enrolment_view(self, request, pk: int):
        screen = get_object_or_404(Screen, pk=pk)
        if not self.has_change_permission(request, screen) or screen.anonymous_id:
            raise PermissionDenied
        services.open_enrolment(screen=screen, by=request.user)
        self.message_user(request, _("A new enrolment link is open; the previous one no longer works."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:screens_screen_change", args=[screen.pk]))


@admin.register(ScreenCommand)
class ScreenCommandAdmin(admin.ModelAdmin):
    list_display = ("screen", "kind", "argument", "issued_by", "issued_at", "delivered_at", "acked_at", "ok", "detail")
    list_filter = ("kind", "ok")
    list_select_related = ("screen", "issued_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
