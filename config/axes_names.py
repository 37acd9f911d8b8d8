"""The user names django-axes counts failures under (AXES_USERNAME_CALLABLE): an API call's are
prefixed, so its lockout is apart from the admin's login form. Both config.auth (which counts) and
config.lockout (which reads how long a lock has left) need them."""

from __future__ import annotations

from django.conf import settings

# "api:" cannot start a user name of the admin's form (Django's validator allows no colon), nor a
# Basic one (the first colon ends it).
API_NAME_PREFIX = "api:"
# The credential that marks a password as sent to the API (not one of Django's sensitive names, so
# axes' handlers see it as sent).
CHANNEL, API_CHANNEL = "channel", "api"


def axes_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the user name axes counts a failure under; an API call's is prefixed."""
    if credentials is None:  # axes' own fallback: the posted form
        return getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    username = credentials.get("username")
    if username is not None and credentials.get(CHANNEL) == API_CHANNEL:
        return API_NAME_PREFIX + username
    return username
