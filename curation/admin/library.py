"""The model library in the admin (docs/models.md): the models, LoRAs, embeddings, VAEs and upscalers
found under GARDEN_MODELS_DIR. Rows come from the scan; curators edit only a model's defaults (steps,
guidance, size) and which model is the default. "Rescan the models folder" is both a button on
the list and an action; writes go through library.services.entries.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from curation.admin import library_install, library_scan
from generation import backends
from generation.requests import GUIDANCE_RANGE
from library import selectors as library
from library.models import LibraryEntry
from library.services import copies as library_copies
from library.services import entries as library_services
from library.services import follow as library_follow
from safety.selectors import live_pictures_withheld

QUEUED_FOR = timedelta(minutes=10)  # a queued rescan no worker took this long: say so, stop reloading
DEFAULT_FIELDS = ("default_steps", "default_guidance", "default_width", "default_height", "default_vae", "live_vae", "dtype", "offload")


class LibraryEntryForm(forms.ModelForm):
    """A model's defaults, in the bounds a job accepts (generation.requests)."""

    class Meta:
        model = LibraryEntry
        fields = DEFAULT_FIELDS

    def clean(self):
        data = super().clean()
        steps = data.get("default_steps")
        if steps is not None and not 1 <= steps <= settings.GARDEN_MAX_STEPS:
            self.add_error("default_steps", _("Between 1 and %(most)d (GARDEN_MAX_STEPS).") % {"most": settings.GARDEN_MAX_STEPS})
        guidance = data.get("default_guidance")
        if guidance is not None and not GUIDANCE_RANGE[0] <= guidance <= GUIDANCE_RANGE[1]:
            self.add_error(
                "default_guidance", _("Between %(low)s and %(high)s.") % {"low": f"{GUIDANCE_RANGE[0]:g}", "high": f"{GUIDANCE_RANGE[1]:g}"}
            )
        for name, limit in (("default_width", settings.GARDEN_MAX_WIDTH), ("default_height", settings.GARDEN_MAX_HEIGHT)):
            value = data.get(name)
            if value is not None and (value % 8 or not settings.GARDEN_MIN_SIZE <= value <= limit):
                self.add_error(name, _("A multiple of 8 between %(low)d and %(high)d.") % {"low": settings.GARDEN_MIN_SIZE, "high": limit})
        if (data.get("default_width") is None) != (data.get("default_height") is None):
            self.add_error("default_height", _("Give both width and height, or neither."))
        vae = data.get("default_vae")
        if vae and not library.vaes().filter(name=vae).exists():
            known = ", ".join(library.vaes().values_list("name", flat=True)) or _("none")
            self.add_error("default_vae", _("Not a VAE of the library (it has %(known)s); empty: the model's own.") % {"known": known})
        if data.get("live_vae") and not library.vaes().filter(name=data["live_vae"]).exists():  # a tiny one: read by the worker
            self.add_error("live_vae", _("Not a VAE of the library; empty: the model's own."))
        return data


class UsableFilter(admin.SimpleListFilter):
    """*usable*: what the row's column says (library.selectors.why_unusable), not the scan's stored verdict alone."""

    title = gettext_lazy("usable")
    parameter_name = "usable"

    def lookups(self, request, model_admin):
        return (("1", _("Yes")), ("0", _("No")))

    def queryset(self, request, queryset):
        if self.value() == "1":
            return library.can_paint(queryset)
        if self.value() == "0":
            return queryset.exclude(pk__in=library.can_paint(queryset).values("pk"))
        return queryset


@admin.register(LibraryEntry)
class LibraryEntryAdmin(admin.ModelAdmin):
    form = LibraryEntryForm
    # What a curator decides by first (usable and why not, default, live, present): on screen at 1400 px.
    list_display = (
        "name", "can_paint", "is_default", "live", "present", "kind", "family", "size", "on_hosts", "defaults", "short_hash",
        "scanned_at",
    )  # fmt: skip
    list_filter = ("kind", "family", UsableFilter, "present", "is_default", "live")
    search_fields = ("name", "path", "sha256", "short_hash")
    list_per_page = 100
    actions = ["rescan", "make_default", "make_live", "stop_live", "forget_stale_hosts"]
    readonly_fields = (
        "kind", "name", "path", "family", "size", "can_paint", "sha256", "short_hash", "source",
        "is_default", "live", "present", "missing_since", "on_hosts", "stored_at", "store_upload", "details", "scanned_at",
    )  # fmt: skip

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and (match.url_name or "").endswith(("_changelist", "_change")):  # "on hosts": one query a page
            return queryset.prefetch_related("copies", "uploads")
        return queryset

    def get_fields(self, request, obj=None):
        if obj is not None and obj.kind == LibraryEntry.Kind.PIPELINE:
            return (*self.readonly_fields, *DEFAULT_FIELDS)
        return self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None or obj.kind != LibraryEntry.Kind.PIPELINE:
            kwargs["fields"] = ()  # LoRAs and embeddings have no defaults to edit
        return super().get_form(request, obj, change, **kwargs)

    def has_add_permission(self, request):
        return False  # rows come from the scan

    def has_delete_permission(self, request, obj=None):
        return False  # a missing file is marked absent by the scan, and its jobs keep their name

    @admin.display(description=gettext_lazy("size"), ordering="size_bytes")
    def size(self, obj):
        return filesizeformat(obj.size_bytes)

    @admin.display(description=gettext_lazy("on hosts"))
    def on_hosts(self, obj):
        """Which hosts hold its file (GARDEN_HOST_NAME; a host that stopped looking in brackets, until
        the action "Forget the hosts that stopped looking" drops it: a renamed host's old name),
        and "store" when the venue's store holds it (docs/models.md#several-machines)."""
        since = library.fresh_since()
        held = [
            copy.host if since is None or copy.seen_at >= since else f"({copy.host})"
            for copy in sorted(obj.copies.all(), key=lambda copy: copy.host)
            if copy.on_disk
        ]
        if obj.stored_at is not None and settings.GARDEN_MODELS_STORE:
            held.append(_("store"))
        upload = self._upload_note(obj, short=True)
        if not upload:
            return ", ".join(held) or "–"
        return format_html('{}<br><span class="library-upload">{}</span>', ", ".join(held) or "–", upload)

    @admin.display(description=gettext_lazy("upload to the store"))
    def store_upload(self, obj):
        """Whether the store holds it, else what its upload has done and why it stopped (library.services.uploads)."""
        if not settings.GARDEN_MODELS_STORE:
            return "–"
        if obj.stored_at is not None:
            return _("In the store.")
        return self._upload_note(obj, short=False) or _("Not in the store yet: a host holding it uploads it at its next look.")

    def _upload_note(self, obj, *, short: bool) -> str:
        if obj.stored_at is not None or not settings.GARDEN_MODELS_STORE:
            return ""
        notes = []
        for upload in obj.uploads.all():
            values = {
                "host": upload.host,
                "done": filesizeformat(upload.bytes_done),
                "total": filesizeformat(upload.bytes_total),
                "error": upload.error,
                "when": timezone.localtime(upload.next_try_at).strftime("%H:%M:%S") if upload.next_try_at else "–",
            }
            if upload.state == upload.State.UPLOADING:
                text = (
                    _("uploading from %(host)s: %(done)s of %(total)s")
                    if short
                    else _("Uploading from %(host)s: %(done)s of %(total)s sent.")
                )
            elif upload.state == upload.State.FAILED:
                text = (
                    _("upload from %(host)s failed; next try %(when)s")
                    if short
                    else _("The upload from %(host)s failed (%(error)s); it is tried again at %(when)s.")
                )
            elif upload.state == upload.State.STALLED:
                text = (
                    _("upload from %(host)s stalled at %(done)s of %(total)s; taken over from %(when)s")
                    if short
                    else _(
                        "The upload from %(host)s stalled at %(done)s of %(total)s (%(error)s); a host holding it uploads it from %(when)s."
                    )
                )
            else:
                text = (
                    _("upload from %(host)s stopped at %(done)s of %(total)s")
                    if short
                    else _(
                        "The upload from %(host)s stopped at %(done)s of %(total)s when its worker shut down; "
                        "a host holding it uploads it at its next look."
                    )
                )
            notes.append(text % values)
        return "; ".join(notes)

    @admin.display(description=gettext_lazy("usable"))
    def can_paint(self, obj):
        """✓, or ✗ and why not (library.selectors.why_unusable: the file gone counts, before a scan notices)."""
        reason = library.why_unusable(obj)
        if not reason:
            return format_html('<img src="{}" alt="{}">', static("admin/img/icon-yes.svg"), _("Yes"))
        return format_html(
            '<img src="{}" alt="{}"> <span class="library-reason">{}</span>', static("admin/img/icon-no.svg"), _("No"), reason
        )

    @admin.display(description=gettext_lazy("defaults (steps, cfg, size)"))
    def defaults(self, obj):
        if obj.kind != LibraryEntry.Kind.PIPELINE:
            return "–"
        guidance = "–" if obj.default_guidance is None else f"{obj.default_guidance:g}"
        size = f"{obj.default_width}x{obj.default_height}" if obj.default_width and obj.default_height else "–"
        return _("%(steps)s steps, cfg %(guidance)s, %(size)s") % {"steps": obj.default_steps or "–", "guidance": guidance, "size": size}

    # --- actions and the rescan button ------------------------------------------------------------

    @admin.action(permissions=["change"], description=gettext_lazy("Rescan the models folder"))
    def rescan(self, request, queryset=None):
        """The whole folder, whatever rows are selected: queued, run by a thread off this request
        (hashing a new file takes seconds a gigabyte); the list shows what it found when done."""
        if not settings.GARDEN_MODELS_DIR:
            self.message_user(request, _("GARDEN_MODELS_DIR is empty: there is no model library to scan."), messages.WARNING)
            return
        library_follow.request_scan("admin")
        message = _("Rescan of %(folder)s queued: this page says what it added, changed and lost when it is done.")
        self.message_user(request, message % {"folder": settings.GARDEN_MODELS_DIR}, messages.SUCCESS)

    def _set_one_model(self, request, queryset, *, choose, refusal: str):
        """The one model selected, given to ``choose`` (a library service); None, with the curator
        told why, when the selection is not one model or the service refused it."""
        entries = list(queryset[:2])
        if len(entries) != 1 or entries[0].kind != LibraryEntry.Kind.PIPELINE:
            self.message_user(request, refusal, messages.ERROR)
            return None
        try:
            return choose(entries[0].name)
        except library_services.EntryRefused as exc:
            self.message_user(request, " ".join(exc.fields.values()) or exc.message, messages.ERROR)
            return None

    @admin.action(permissions=["change"], description=gettext_lazy("Make default (one model)"))
    def make_default(self, request, queryset):
        refusal = _("Select exactly one model to make it the default.")
        entry = self._set_one_model(request, queryset, choose=library_services.set_default, refusal=refusal)
        if entry is not None:
            self.message_user(request, _("Jobs that name no model now use %(name)s.") % {"name": entry.name}, messages.SUCCESS)

    @admin.action(permissions=["change"], description=gettext_lazy("Paint live pictures with it (one model)"))
    def make_live(self, request, queryset):
        refusal = _("Select exactly one model to paint live pictures with.")
        entry = self._set_one_model(request, queryset, choose=library_services.set_live, refusal=refusal)
        if entry is None:
            return
        withheld = live_pictures_withheld()
        if withheld:  # marked all the same, ready for when the check is on; but nothing is painted till then
            message = _("%(name)s is marked as the live model. %(why)s")
            self.message_user(request, message % {"name": entry.name, "why": withheld}, messages.WARNING)
            return
        message = _("Live pictures are now painted by %(name)s, with its default steps and guidance.")
        self.message_user(request, message % {"name": entry.name}, messages.SUCCESS)

    @admin.action(permissions=["change"], description=gettext_lazy("Stop painting live pictures with a library model"))
    def stop_live(self, request, queryset=None):
        library_services.set_live(None)
        live = library.live_state()  # none marked now: the rule may pick one, or nobody paints them
        if live.entry is not None:
            message = _("No model is marked for live pictures now: %(name)s paints them, the first turbo-class model of the library.")
            self.message_user(request, message % {"name": live.entry.name}, messages.SUCCESS)
        elif live.problem:
            self.message_user(request, live.problem, messages.WARNING)
        else:
            self.message_user(request, _("No library model paints live pictures now."), messages.SUCCESS)

    @admin.action(permissions=["change"], description=gettext_lazy("Forget the hosts that stopped looking (a renamed host's old name)"))
    def forget_stale_hosts(self, request, queryset=None):
        """A host in brackets under "on hosts" stopped looking at its folder; one renamed stays there
        under its old name until this (its copies keep nothing present, and a host back records anew)."""
        hosts = library_copies.forget_stale_hosts()
        if hosts:
            message = _("Forgot the copies of %(hosts)s: they no longer show under on hosts.")
            self.message_user(request, message % {"hosts": pgettext("list separator", ", ").join(hosts)}, messages.SUCCESS)
        else:
            self.message_user(request, _("Every host listed still looks at its folder: nothing to forget."), messages.INFO)

    def get_urls(self):
        return [
            path("rescan/", self.admin_site.admin_view(self.rescan_view), name="library_libraryentry_rescan"),
            path("version/", self.admin_site.admin_view(self.version_view), name="library_libraryentry_version"),
            *library_install.urls(self),  # "Install a model" (superusers)
            *super().get_urls(),
        ]

    def rescan_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:library_libraryentry_changelist"))
        if not self.has_change_permission(request):
            raise PermissionDenied
        self.rescan(request)
        return HttpResponseRedirect(reverse("admin:library_libraryentry_changelist"))

    def version_view(self, request):
        """GET → ``{"version": …}``: what the list shows, digested (library.selectors.listing_version);
        the list polls it (curation/library_follow.js) and reloads when it moves."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse({"version": library.listing_version()}, headers={"Cache-Control": "no-store"})

    def changelist_view(self, request, extra_context=None):
        scan = library.last_scan() if settings.GARDEN_MODELS_DIR else None
        waiting = timezone.now() - scan.requested_at if scan is not None else None
        context = {
            "models_dir": settings.GARDEN_MODELS_DIR,
            "scan_seconds": settings.GARDEN_LIBRARY_SCAN_SECONDS,
            "last_scan": scan,
            "scan_words": library_scan.worded(scan) if scan is not None else "",
            "scan_trigger": library_scan.trigger(scan) if scan is not None else "",
            # Said while a scan is under way (the page reloads when it ends); a queued one no worker
            # took for 10 minutes is said, not waited for.
            "scan_running": scan is not None and scan.state in (scan.State.QUEUED, scan.State.RUNNING) and waiting < QUEUED_FOR,
            "scan_unclaimed": scan is not None and scan.state == scan.State.QUEUED and waiting >= QUEUED_FOR,
            "default_problem": library.default_state().problem,
            "live": library.live_state(),
            "procedural": settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL,
            "library_empty": bool(settings.GARDEN_MODELS_DIR) and library.is_empty(),
            "listing_version": library.listing_version(),
        }
        return super().changelist_view(request, {**(extra_context or {}), **context})
