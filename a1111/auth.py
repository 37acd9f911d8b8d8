"""Calls without credentials from trusted addresses (GARDEN_A1111_TRUSTED_CLIENTS), as A1111 runs
without ``--api-auth``: the retouch app's backend sends none.

The client is ``config.api.client_ip`` (the socket address, or the one GARDEN_TRUSTED_PROXIES
proxies reported), the same address the kiosk throttle and the login lockout use. A trusted call
acts as the service user ``a1111-trusted`` (created on first use: not staff, no password, no
permissions), which the A1111 endpoints alone accept (``A1111Permission``). A call that carries an
``Authorization`` header is left to the other authenticators, so its credentials still count; an
empty ``Basic`` (SillyTavern and Open WebUI send ``Basic `` when their auth field is empty) counts
as no credentials.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from a1111 import keypath
from config.api import StaffOrToken, client_ip

log = logging.getLogger(__name__)

SERVICE_USER = "a1111-trusted"


def trusted_address(address: str) -> bool:
    """Whether ``address`` is inside one of GARDEN_A1111_TRUSTED_CLIENTS (addresses or CIDR networks)."""
    networks = settings.GARDEN_A1111_TRUSTED_CLIENTS
    if not networks:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in networks:
        try:
            if client in ipaddress.ip_network(str(entry).strip(), strict=False):
                return True
        except ValueError:
            log.warning("GARDEN_A1111_TRUSTED_CLIENTS: %r is not an address or network", entry)
    return False


def service_user():
    """The user trusted calls act as (their jobs' ``created_by``); created on first use, no rights."""
    user, created = get_user_model().objects.get_or_create(
        username=SERVICE_USER, defaults={"is_staff": False, "is_superuser": False, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class TrustedClientAuthentication(BaseAuthentication):
    """First on the A1111 views: None (not handled) for untrusted addresses and for calls with credentials."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.strip() and not keypath.empty_basic(header):  # credentials: the other authenticators check them
            return None
        if not trusted_address(client_ip(request)):
            if header.strip():  # an empty Basic from elsewhere: no credentials, so a 401 asking for Basic
                raise exceptions.NotAuthenticated()
            return None
        return service_user(), None

    def authenticate_header(self, request):
        # DRF takes the first authenticator's header for 401s: untrusted callers are asked for Basic.
        return 'Basic realm="api"'


class A1111Permission(StaffOrToken):
    """Staff, token holders, or a trusted address (the service user, valid for these endpoints only)."""

    message = "The A1111 endpoints need staff credentials, an API token, or a trusted address (GARDEN_A1111_TRUSTED_CLIENTS)."

    def has_permission(self, request, view):
        if isinstance(request.successful_authenticator, TrustedClientAuthentication):
            return True
        return super().has_permission(request, view)


class _TrustedClientScheme(OpenApiAuthenticationExtension):
    # An address, not a credential: nothing for the schema to state (Basic, token and session are listed).
    target_class = TrustedClientAuthentication
    name: list[str] = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
