"""The admin's "Install a model" page, reached from Library entries (docs/models.md#installing-models).

The form takes what ``manage.py install_model`` takes (a Hub repo id, a URL, a path on the worker or
a starter model's name, with kind, name, revision, variant and sha256) and queues the install on a
worker (``generation.tasks.install_model``), where the models folder is mounted writable; the page
then shows the worker's reports (bytes done, then the outcome), reloading itself while an install
runs. Superusers only: an install downloads files onto the server. Writes go through
library.services.install.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.admin import install_outcomes
from library import starter_models
from library.models import LibraryEntry
from library.services import install as installer

URL_NAME = "library_libraryentry_install"
Kind = LibraryEntry.Kind
# The install kinds as the form and the starters' table name them (the glossary's words).
KIND_LABELS = {
    "checkpoint": gettext_lazy("model (checkpoint)"),
    "pipeline": gettext_lazy("model (diffusers folder)"),
    "lora": Kind.LORA.label,
    "embedding": Kind.EMBEDDING.label,
    "vae": Kind.VAE.label,
    "upscaler": Kind.UPSCALER.label,
}
# The states a worker's report has (library.services.install.progress_reports), in the curator's language.
STATE_LABELS = {
    "queued": gettext_lazy("queued"),
    "running": gettext_lazy("running"),
    "done": gettext_lazy("done"),
    "failed": gettext_lazy("failed"),
    "stalled": gettext_lazy("stalled"),
}
QUEUED_KEY = "library_installs_queued"  # the session's {install id: source} while a worker has not reported


class InstallForm(forms.Form):
    source = forms.CharField(
        label=gettext_lazy("Source"),
        max_length=2000,
        help_text=gettext_lazy(
            "A Hub repo id (owner/name or owner/name:subfolder), an https URL, a path on the worker, or a starter model below."
        ),
        widget=forms.TextInput(attrs={"size": 80, "autofocus": True}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("Detect it")), *((kind, KIND_LABELS[kind]) for kind in installer.KINDS if kind != "expression")],
    )
    name = forms.CharField(
        label=gettext_lazy("Name"), required=False, max_length=150, help_text=gettext_lazy("Default: the file's or folder's name.")
    )
    revision = forms.CharField(
        label=gettext_lazy("Revision"), required=False, max_length=200, help_text=gettext_lazy("Hub: a branch, tag or commit.")
    )
    variant = forms.ChoiceField(
        label=gettext_lazy("Variant"),
        required=False,
        choices=[("", gettext_lazy("Any")), ("fp16", "fp16")],
        help_text=gettext_lazy("Hub: only the fp16 weights."),
    )
    sha256 = forms.RegexField(
        label="sha256",
        required=False,
        regex=r"^\s*[0-9a-fA-F]{64}\s*$",
        help_text=gettext_lazy("Refuse the file unless its sha256 is this."),
    )
    # The labels are installer.FORM_LABELS' words: the install's messages name these controls.
    force = forms.BooleanField(label=gettext_lazy("Replace an installed model of the same name"), required=False)

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            key: (data[key].strip() if isinstance(data[key], str) else data[key])
            for key in ("kind", "name", "revision", "variant", "sha256", "force")
        }


def urls(model_admin: admin.ModelAdmin) -> list:
    """The page's URL, for LibraryEntryAdmin.get_urls."""
    return [path("install/", model_admin.admin_site.admin_view(lambda request: install_view(model_admin, request)), name=URL_NAME)]


def binary_size(count: int) -> str:
    """Bytes in binary units, labelled as such (Django's filesizeformat divides by 1024 and says "GB")."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _progress(status: dict) -> str:
    done, total = status.get("done") or 0, status.get("total")
    if total:
        return f"{binary_size(done)} / {binary_size(total)} ({100 * done // max(total, 1)} %)"
    return binary_size(done) if done else ""


def _local_time(stamp: str) -> str:
    """A status file's UTC time (ISO 8601) in the site's time zone (TIME_ZONE), as the admin shows times."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return ""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"


def _store_uploads(model_admin, statuses: list[dict]) -> bool:
    """With a model store, an installed entry's way into it (the list's "upload to the store" note:
    uploading from a host, the bytes sent of the total, failed or stalled) under its outcome, so the
    page says what happens while the file uploads; True while one is uploading (the page reloads)."""
    if not settings.GARDEN_MODELS_STORE:
        return False
    names = {status["entry"] for status in statuses if status.get("state") == "done" and status.get("entry")}
    entries = {entry.name: entry for entry in LibraryEntry.objects.filter(name__in=names).prefetch_related("uploads")}
    uploading = False
    for status in statuses:
        entry = entries.get(status.get("entry", "")) if status.get("state") == "done" else None
        if entry is not None:
            status["store"] = model_admin.store_upload(entry)
            uploading |= entry.stored_at is None and any(u.state == u.State.UPLOADING for u in entry.uploads.all())
    return uploading


def install_view(model_admin: admin.ModelAdmin, request):
    if not request.user.is_superuser:
        raise PermissionDenied
    form = InstallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            installer.precheck_source(form.cleaned_data["source"], **form.options())  # before any worker fetches a byte
            install_id = installer.request_install(form.cleaned_data["source"], **form.options())
        except installer.NoLibrary:
            form.add_error(None, _("GARDEN_MODELS_DIR is empty: there is no model library to install into (docs/models.md)."))
        except installer.InstallError as exc:
            form.add_error(None, exc.worded(installer.FORM))  # the form's controls, not the command's flags
        else:
            queued = request.session.get(QUEUED_KEY, {})
            queued[install_id] = form.cleaned_data["source"]
            request.session[QUEUED_KEY] = dict(list(queued.items())[-10:])
            message = _("Queued the install of %(source)s on a worker; its progress shows below.")
            model_admin.message_user(request, message % {"source": form.cleaned_data["source"]}, messages.SUCCESS)
            return HttpResponseRedirect(reverse(f"admin:{URL_NAME}") + f"?install={install_id}")
    statuses = installer.recent_statuses()
    waiting = request.GET.get("install", "")
    if re.fullmatch(r"[0-9a-f]{32}", waiting) and not any(status["id"] == waiting for status in statuses):
        source = request.session.get(QUEUED_KEY, {}).get(waiting, "")
        statuses.insert(0, {"id": waiting, "state": "queued", "source": source, "message": _("waiting for a worker")})
    uploading = _store_uploads(model_admin, statuses)
    for status in statuses:
        status["progress"] = _progress(status)
        status["state_label"] = STATE_LABELS.get(status.get("state", ""), status.get("state", ""))
        status["started"] = _local_time(status.get("started_at", ""))
        status["message"] = install_outcomes.outcome(status)
        status["note"] = install_outcomes.note(status.get("note", ""))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Install a model"),
        "form": form,
        "starters": [(starter, KIND_LABELS.get(starter.kind, starter.kind)) for starter in starter_models.STARTERS],
        "statuses": statuses,
        "running": uploading or any(status.get("state") in ("queued", "running") for status in statuses),
        "models_dir": settings.GARDEN_MODELS_DIR,
    }
    return TemplateResponse(request, "admin/library/libraryentry/install.html", context)
