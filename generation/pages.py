"""The staff pages: text to image and the page an old ``GET /text2image?prompt=…`` link opens
(apps above keep their own staff pages).

Thin views that render templates; the pages' scripts (garden/static/kiosk/text2image.js,
generation/static/generation/text2image_job.js) talk only to the job API. Sizes, defaults and the
prompt's length come from generation.requests.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from garden import labels
from generation import selectors, services
from generation.requests import RESOLUTIONS, TEXT_LIMITS, JobParameterError, JobRequest
from generation.serializers import JobSerializer

# English on purpose: the models read English prompts, whatever the page's language.
DEFAULT_PROMPT = "a calm garden of flowers, fantasy, concept art, highly detailed, sharp focus, digital art"
RESOLUTION_NAMES = {(768, 512): pgettext_lazy("screen resolution", "Basic"), (1024, 600): "WSVGA", (1280, 800): "WXGA"}
# An old link opened again within this time (a reload, a second click) shows the job it started.
LINK_REUSE = timedelta(minutes=10)
# What the job page says before its script takes over (and all that a script-less client sees).
JOB_STATES = {
    "queued": ("busy", pgettext_lazy("job status", "Queued")),
    "running": ("busy", pgettext_lazy("job status", "Generating…")),
    "succeeded": ("done", pgettext_lazy("job status", "Done")),
    "failed": ("error", pgettext_lazy("job status", "Failed.")),
    "cancelled": ("empty", pgettext_lazy("job status", "Cancelled.")),
}


@require_GET
def text2image(request):
    """Staff only (anonymous → the admin login, other users → 403)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Staff only."))
    resolutions = [
        (width, height, f"{RESOLUTION_NAMES.get((width, height), '')} {width}×{height}".strip()) for width, height in RESOLUTIONS
    ]
    context = {
        "resolutions": resolutions,
        "jobs_url": reverse("generation-jobs"),
        "default_prompt": DEFAULT_PROMPT,
        "prompt_max": TEXT_LIMITS["prompt"],
        "ai_label_text": labels.ai_label().current,
    }
    return render(request, "kiosk/text2image.html", context)


def _link_user(request):
    """The staff session's or the API token's user; else the answer to give instead (login, 401, 403)."""
    try:
        token = TokenAuthentication().authenticate(request)
    except AuthenticationFailed as exc:
        response = HttpResponse(str(exc.detail), status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = "Token"
        return None, response
    if token is not None:
        return token[0], None
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Staff only."))
    return request.user, None


def _size(value: str | None):
    """A query-string size: None when absent, an int when it is one, else the text (validate() names it)."""
    if value is None or value == "":
        return None
    return int(value) if value.isdecimal() else value  # isdecimal: only what int() reads ("²" is a digit, not a decimal)


@require_safe
@never_cache
def text2image_link(request):
    """``GET /text2image?prompt=…[&width=&height=]``: the old API server's link, as a page.

    Starts a job like POST /text2image (or shows the same job when the link is opened again
    within LINK_REUSE), then shows its progress and the image. Staff sessions and token holders
    only; anonymous browsers go to the admin login. ``POST /text2image`` is views.Text2ImageView.
    """
    prompt = request.GET.get("prompt", "").strip()
    job_request = JobRequest(prompt=prompt, others="", width=_size(request.GET.get("width")), height=_size(request.GET.get("height")))
    try:
        valid = job_request.validate()
    except JobParameterError as error:
        errors = error.fields or {"prompt": error.message}
        # No prompt: the form, unless the link's sizes are wrong too (validate() names them).
        if prompt or not set(errors) <= {"emotion"}:
            context = {"prompt": prompt, "errors": errors, "ai_label_text": labels.ai_label().current}
            return render(request, "kiosk/text2image_job.html", context, status=400)
        valid = None
    # After the checks: a wrong link is a 400 for anyone, as the API's own validation would be.
    user, refusal = _link_user(request)
    if refusal is not None:
        return refusal
    if valid is None:
        return HttpResponseRedirect(reverse("kiosk-text2image"))
    job = selectors.recent_same_job(user=user, job=valid, within=LINK_REUSE) or services.create_job(created_by=user, request=job_request)
    job.refresh_from_db()
    data = JobSerializer(job, context={"request": request}).data
    state, text = JOB_STATES.get(job.status, ("busy", job.status))
    context = {
        "prompt": prompt,
        "job": data,
        "state": state,
        "state_text": text,
        "percent": round((data["progress"] or 0) * 100),
        # A queued job whose queue no worker consumes says so (selectors.queue_warnings: cached, bounded).
        "queue_warnings": selectors.queue_warnings() if job.status == job.Status.QUEUED else [],
        "ai_label_text": labels.ai_label().current,
    }
    return render(request, "kiosk/text2image_job.html", context)
