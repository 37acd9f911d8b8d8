"""The Displays admin page: what each zone shows now, and a slot editor with a thumbnail picker.

Thin: the edit page parses its form into a ``displays.services.Selection`` (or a live emotion)
and calls the same service as ``POST /updateDisplay``, which copies the files and writes the
admin log. Zones are never deleted here (their files would stay on the screens); a zone is
emptied by saving it with no images.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from config.errors import DomainError
from displays import selectors, services
from displays.models import DisplayZone
from garden.keys import EMOTIONS
from garden.models import Image

PICKER_SIZE = 48
# The sides' names on the page (the form's field names stay English).
SIDE_LABELS = {"landscape": pgettext_lazy("display side", "landscape"), "portrait": pgettext_lazy("display side", "portrait")}


def _slot_views(zone: DisplayZone | None, posted=None) -> dict[str, list[dict]]:
    """Per side, 8 slots: the source key and a thumbnail (the slot file itself if the source moved).

    ``posted``: a refused form's values, shown again as they were typed.
    """
    if posted is not None:
        listed = {side: [posted.get(f"{side}_{n}", "").strip() for n in range(1, selectors.SLOTS + 1)] for side in selectors.SIDES}
    else:
        listed = {side: list(getattr(zone, side, []) or []) for side in selectors.SIDES}
    rows = {image.key: image for image in Image.objects.with_keys([key for keys in listed.values() for key in keys])}
    slots: dict[str, list[dict]] = {}
    for side, orientation in selectors.SIDES.items():
        slots[side] = []
        for number in range(1, selectors.SLOTS + 1):
            key = listed[side][number - 1] if number <= len(listed[side]) else ""
            if key in rows:
                thumb = selectors.thumbnail_url(rows[key])
            elif key and zone is not None and posted is None:
                thumb = selectors.slot_url(zone=zone.name, slot=number, orientation=orientation, version=zone.version)
            else:
                thumb = ""
            slots[side].append({"number": number, "key": key, "thumb": thumb, "name": f"{side}_{number}"})
    return slots


def _selection_from(post) -> services.Selection:
    """The slots as posted, in slot order; empty slots are skipped (later images move up)."""
    sides = {}
    for side in selectors.SIDES:
        values = (post.get(f"{side}_{number}", "").strip() for number in range(1, selectors.SLOTS + 1))
        sides[side] = [value for value in values if value]
    return services.Selection(**sides)


@admin.register(DisplayZone)
class DisplayZoneAdmin(admin.ModelAdmin):
    list_display = ("name", "showing", "live_emotion", "language", "version", "updated_at", "updated_by", "screens")
    list_display_links = ("name",)
    ordering = ("name",)

    class Media:
        css = {"all": ("displays/admin.css",)}

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("showing now (landscape · portrait)"))
    def showing(self, obj):
        slots = _slot_views(obj)
        cells = [(slot["thumb"], slot["key"]) for side in selectors.SIDES for slot in slots[side] if slot["key"]]
        if not cells:
            return "—"
        return format_html_join("", '<img class="zone-thumb" src="{}" alt="" title="{}" loading="lazy">', cells)

    @admin.display(description=gettext_lazy("screens"))
    def screens(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("display-signage", kwargs={"zone": obj.name}),
            _("signage page"),
            reverse("display-state", kwargs={"zone": obj.name}),
            _("state"),
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "max_zones": settings.DISPLAY_MAX_ZONES}
        return super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.edit_view(request, zone=None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        zone = get_object_or_404(DisplayZone, pk=object_id)
        if not self.has_view_permission(request, zone):
            raise PermissionDenied
        return self.edit_view(request, zone=zone)

    def edit_view(self, request, *, zone: DisplayZone | None):
        can_change = self.has_add_permission(request) if zone is None else self.has_change_permission(request, zone)
        error_fields: dict[str, str] = {}
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            name = zone.name if zone is not None else request.POST.get("name", "").strip()
            live = request.POST.get("live_emotion", "")
            language = request.POST.get("language", "")
            try:
                if live:
                    saved = services.start_live(zone=name, emotion=live, user=request.user, language=language)
                else:
                    selection = _selection_from(request.POST)
                    saved = services.update_zone(
                        zone=name, selection=selection, user=request.user, source="Displays page", language=language
                    )
            except DomainError as error:
                error_fields = error.fields or {"general": error.message}
                self.message_user(request, _("Nothing changed: %(error)s") % {"error": error.message}, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Display zone “%(zone)s” now shows version %(version)s.") % {"zone": saved.name, "version": saved.version},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:displays_displayzone_changelist"))
        slots = _slot_views(zone, request.POST if error_fields else None)
        emotion = request.GET.get("emotion", "")
        emotion = emotion if emotion in EMOTIONS else ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Display zone %(zone)s") % {"zone": zone.name} if zone else _("New display zone"),
            "zone": zone,
            "can_change": can_change,
            "posted_name": request.POST.get("name", "") if zone is None else "",
            "emotions": EMOTIONS,
            "emotion": emotion,
            "live_emotion": request.POST.get("live_emotion", "") if request.method == "POST" else getattr(zone, "live_emotion", ""),
            "languages": settings.LANGUAGES,
            "default_language": dict(settings.LANGUAGES).get(settings.LANGUAGE_CODE, settings.LANGUAGE_CODE),
            "language": request.POST.get("language", "") if request.method == "POST" else getattr(zone, "language", ""),
            "errors": error_fields,
            "sides": [
                {
                    "name": side,
                    "label": SIDE_LABELS.get(side, side),
                    "suffix": orientation,
                    "slots": slots[side],
                    "error": error_fields.get(side, ""),
                    "picker": [
                        {"key": image.key, "thumb": selectors.thumbnail_url(image)}
                        for image in selectors.picker_images(emotion=emotion, side=side, limit=PICKER_SIZE)
                    ],
                }
                for side, orientation in selectors.SIDES.items()
            ],
        }
        return TemplateResponse(request, "admin/displays/displayzone/edit.html", context)
