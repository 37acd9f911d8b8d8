"""Which hosts a URL install may reach: public addresses only, unless GARDEN_MODELS_ALLOW_PRIVATE_URLS.

Every address a host name resolves to is checked before connecting (and every redirect's host, by
library.services.install.url_download), and the address the connection really reached again
before any of the body is kept (a name that resolves public, then private: DNS rebinding). Behind
an HTTP(S) proxy, names this machine cannot resolve are left to the proxy.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import urllib.parse

from django.conf import settings

from library.services.install.errors import InstallError


class Unresolvable(InstallError):
    """The host name does not resolve here (the web host may resolve less than the worker)."""


def check_url_allowed(url: str) -> None:
    """Refuse other schemes, and hosts that resolve to a non-public address (every address checked)
    unless GARDEN_MODELS_ALLOW_PRIVATE_URLS allows them."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InstallError(f"{url}: only http and https URLs with a host can be installed.")
    if settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS:
        return
    host = parts.hostname
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host.split("%", 1)[0])  # an address, not a name: checked as it is
        _refuse_private(url, host, host)
        return
    try:
        addresses = host_addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        if proxied(url):
            return  # behind an HTTP proxy that resolves names itself: the proxy's own rules apply
        raise Unresolvable(f"{url}: cannot resolve {host}: {exc}.") from None
    for address in addresses:
        _refuse_private(url, host, address)


def check_peer(url: str, response) -> None:
    """The address the connection really reached, checked again: a host name that resolved to a
    public address for check_url_allowed and to a private one when connecting (DNS rebinding) is
    refused before any of its body is read."""
    if settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS or proxied(url):
        return  # through a proxy the socket's peer is the proxy, not the host
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        return  # no socket to ask (already closed): the body is empty or was read by urllib3
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    try:
        _refuse_private(url, urllib.parse.urlsplit(url).hostname or "", str(peer))
    except InstallError:
        response.close()
        raise


def proxied(url: str) -> bool:
    """Whether requests sends this URL through a proxy (HTTP(S)_PROXY, not bypassed by NO_PROXY)."""
    import requests.utils

    return urllib.parse.urlsplit(url).scheme in requests.utils.get_environ_proxies(url)


def host_addresses(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (the check's own look-up)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def _refuse_private(url: str, host: str, text: str) -> None:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if not address.is_global or address.is_multicast:
        raise InstallError(
            f"{url}: {host} is a private, loopback or link-local address ({address}); "
            "set GARDEN_MODELS_ALLOW_PRIVATE_URLS=true to install from such hosts."
        )
