"""The security headers config/settings.py sets: the Content-Security-Policy and the Permissions-Policy.

Scripts only from this site (pages pass data in data-* attributes and json_script, never inline
code); inline styles stay allowed for the Django admin. Images may also come from where the
garden's files are served (bucket, CDN). The kiosk films visitors: the camera for this site
itself, nothing else for anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csp.constants import NONE, SELF

PERMISSIONS_POLICY = {"camera": ["self"], **{feature: [] for feature in ("microphone", "geolocation", "payment", "usb", "display-capture")}}


def media_origins(core: Mapping[str, Any]) -> list[str]:
    """Where images are served from besides the site: a CDN, the bucket's domain or endpoint, or AWS S3."""
    domain, endpoint = core["GARDEN_S3_CUSTOM_DOMAIN"], core["GARDEN_S3_ENDPOINT_URL"]
    origins = [
        core["GARDEN_PUBLIC_BASE_URL"],
        domain and "https://" + domain,
        endpoint,
        "https://*.amazonaws.com" if core["GARDEN_S3_BUCKET"] and not endpoint else "",
    ]
    return [origin for origin in origins if origin]


def content_security_policy(core: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF, "'unsafe-inline'"],
            "img-src": [SELF, "data:", "blob:", *media_origins(core), *core["GARDEN_CSP_EXTRA_IMG_SRC"]],
            "media-src": [SELF, "blob:"],
            "font-src": [SELF, "data:"],
            "connect-src": [SELF],
            "worker-src": [SELF, "blob:"],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [SELF],
        }
    }
