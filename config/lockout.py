"""The page a locked-out admin login gets (AXES_LOCKOUT_CALLABLE): the site's own, in the admin's
look and the visitor's language, saying when to try again (docs/curation.md#logins).

Axes' own answer is an unstyled English line; this one is a 429 with ``Retry-After`` (seconds, as
HTTP says) and the same wait in minutes on the page, counted from the failure that locked the pair
(AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off: a login tried while locked is not checked,
so it neither counts as a failure nor pushes the lockout further).
"""

from __future__ import annotations

import math
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from config.axes_names import axes_username


def cool_off() -> timedelta:
    return timedelta(hours=settings.AXES_COOLOFF_TIME)


def seconds_left(username: str | None, address: str, *, unknown: int | None = None) -> int:
    """Seconds until the pair's lockout ends: its last recorded failure plus the cool-off (at least 1);
    with no failure recorded, ``unknown`` (else the whole cool-off).

    Axes' rows are the durable record: they survive a restart of the web process and of the shared
    cache, so a client locked a minute before its lockout ends is told a minute, not the cool-off."""
    last = (
        AccessAttempt.objects.filter(username=username, ip_address=address)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    if last is None:
        return math.ceil(cool_off().total_seconds()) if unknown is None else unknown
    return max(1, math.ceil((last + cool_off() - timezone.now()).total_seconds()))


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None) -> HttpResponse:
    from config.api import client_ip  # config.api loads DRF's views, which read the settings: on first use

    wait = seconds_left(axes_username(request, credentials), client_ip(request))
    context = {
        **admin.site.each_context(request),
        "title": _("Login locked for a while"),
        "minutes": math.ceil(wait / 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response = render(request, "admin/lockout.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
