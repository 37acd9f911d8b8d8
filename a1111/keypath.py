"""A client key in the base URL, for SD clients that cannot send a header (the Photoshop, GIMP,
Blender and Cyanic Krita plugins, SwarmUI's A1111 backend): give them
``https://host/k/<client key>`` as the server's URL and they call ``/k/<key>/sdapi/v1/…``.

The middleware (first after the probes, so nothing below it sees the key in a path) takes the key
out of the path, hands it to the A1111 views as ``Authorization: Bearer <key>`` when the call
carries no credentials of its own (an empty ``Basic`` counts as none), and leaves the path as A1111's.
Keys never reach logs: Django's own log lines read the stripped path, and ``RedactKeys`` (installed on
the access-log loggers by a1111.apps) masks any key in a request line gunicorn or runserver logs.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re

from config.auth import KEY_PATTERN

# Only A1111's routes take a key in the path.
A1111_PREFIXES = ("/sdapi/", "/controlnet/", "/internal/", "/queue/", "/tagger/")
KEY_IN_PATH = re.compile(rf"^/k/(?P<key>{KEY_PATTERN.pattern})(?P<rest>/.*)$")
ANY_KEY = re.compile(r"egk_[A-Za-z0-9_-]{43}")
MASK = "egk_…"


def empty_basic(header: str) -> bool:
    """``Basic`` with nothing, or with an empty user and password (SillyTavern and Open WebUI send
    ``Basic `` when their auth field is empty): no credentials."""
    keyword, _, value = header.strip().partition(" ")
    if keyword.lower() != "basic":
        return False
    value = value.strip()
    if not value:
        return True
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace") in ("", ":")
    except (binascii.Error, ValueError):
        return False


class ClientKeyPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = KEY_IN_PATH.match(request.path_info)
        if found and found["rest"].startswith(A1111_PREFIXES):
            rest = found["rest"]
            request.path_info = request.path = request.META["PATH_INFO"] = rest
            header = request.META.get("HTTP_AUTHORIZATION", "")
            if not header.strip() or empty_basic(header):
                request.META["HTTP_AUTHORIZATION"] = f"Bearer {found['key']}"
        return self.get_response(request)


class RedactKeys(logging.Filter):
    """Masks client keys in a log record's message and arguments (gunicorn's access log passes its
    request line in a dict of atoms; runserver's in a tuple)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "egk_" in record.msg:
            record.msg = ANY_KEY.sub(MASK, record.msg)
        if isinstance(record.args, dict):
            record.args = {name: _masked(value) for name, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_masked(value) for value in record.args)
        return True


def _masked(value):
    return ANY_KEY.sub(MASK, value) if isinstance(value, str) and "egk_" in value else value


ACCESS_LOGGERS = ("gunicorn.access", "django.server", "uvicorn.access", "django.request")


def install_log_filters() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactKeys) for existing in logger.filters):
            logger.addFilter(RedactKeys())
