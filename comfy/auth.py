"""Who calls the door: the A1111 API's rules (a1111.auth), applied to the door's requests.

The door is not a Django view, so each request is handed to the same DRF authenticators and
permission the A1111 views use: a client key as ``Bearer`` or as the Basic password, a staff
user's Basic password, an API token, or no credentials from a GARDEN_A1111_TRUSTED_CLIENTS
address. An empty ``Bearer `` (Open WebUI sends one when its key is empty) counts as none, as an
empty ``Basic`` does. The caller's identity is a1111.identity's: a key is its own caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from a1111 import identity as callers
from a1111.auth import A1111Permission, TrustedClientAuthentication


@dataclass(frozen=True)
class Caller:
    user: object
    identity: str  # a1111.identity.of: key:<id> or user:<id>


class Refused(Exception):
    """No acceptable credentials: ``status`` (401 or 403) and ComfyUI-style JSON."""

    def __init__(self, status: int, detail: str, challenge: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.challenge = status, detail, challenge


def _authenticators():
    return [TrustedClientAuthentication(), *(cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES)]


def caller(*, remote: str, authorization: str, forwarded: str = "") -> Caller:
    """The caller of a request from ``remote`` with these headers, or Refused."""
    http = HttpRequest()
    http.method = "GET"
    http.META = {"REMOTE_ADDR": remote, "SERVER_NAME": "comfy", "SERVER_PORT": "0"}
    if authorization.strip() and authorization.strip().lower() != "bearer":
        http.META["HTTP_AUTHORIZATION"] = authorization
    if forwarded:
        http.META["HTTP_X_FORWARDED_FOR"] = forwarded
    request = Request(http, authenticators=_authenticators())
    try:
        user = request.user
    except exceptions.APIException as exc:
        raise Refused(exc.status_code, str(exc.detail), 'Basic realm="api"') from None
    if not A1111Permission().has_permission(request, None):
        if not user.is_authenticated:
            raise Refused(401, A1111Permission.message, 'Basic realm="api"')
        raise Refused(403, A1111Permission.message)
    return Caller(user=user, identity=callers.of(request))
