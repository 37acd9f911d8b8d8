"""The screens' secrets: enrolment tokens, device secrets and beat signatures (docs/fleet.md).

Nothing secret is stored. An enrolment token and a device secret are HMACs under Django's
SECRET_KEY of the screen's id and a random nonce or salt kept on its row; a new enrolment draws a
new salt, so the old device's secret stops working. A database dump alone cannot sign a beat.
Rotating SECRET_KEY keeps screens enrolled as long as the old key stays in SECRET_KEY_FALLBACKS.

A beat is signed with HMAC-SHA256 under the device secret over ``"<screen id>\\n<time ms>\\n"``
followed by the body's exact bytes; the page computes the same (screens/static/screens/hmac.js
where the browser has no Web Crypto).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

ENROL_PURPOSE = "screens.enrolment"
TOKEN_RE = re.compile(r"^([0-9]{1,12})\.[A-Za-z0-9_-]{43}$")  # ASCII digits only: "²".isdigit() is true
DEVICE_PURPOSE = "screens.device"


def new_nonce() -> str:
    return secrets.token_hex(16)


def _keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _derive(purpose: str, screen_id: int, nonce: str, secret: str) -> str:
    digest = salted_hmac(purpose, f"{screen_id}:{nonce}", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def enrolment_token(screen_id: int, nonce: str) -> str:
    """``<id>.<43 characters>``: what the enrolment link carries."""
    return f"{screen_id}.{_derive(ENROL_PURPOSE, screen_id, nonce, settings.SECRET_KEY)}"


def parse_token(token: str) -> int | None:
    """The screen id a well-formed token names, else None (not yet checked against its row)."""
    match = TOKEN_RE.fullmatch(token)
    return int(match.group(1)) if match else None


def token_matches(token: str, screen_id: int, nonce: str) -> bool:
    if not nonce:
        return False
    return any(hmac.compare_digest(token, f"{screen_id}.{_derive(ENROL_PURPOSE, screen_id, nonce, key)}") for key in _keys())


def device_secret(screen_id: int, salt: str) -> str:
    """The secret a device signs with (answered once, at enrolment)."""
    return _derive(DEVICE_PURPOSE, screen_id, salt, settings.SECRET_KEY)


def signature(secret: str, screen_id: int, timestamp_ms: int, body: bytes) -> str:
    message = f"{screen_id}\n{timestamp_ms}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(*, screen_id: int, salt: str, timestamp_ms: int, body: bytes, given: str) -> bool:
    """Whether ``given`` signs this beat under the device secret (the current SECRET_KEY or a fallback)."""
    if not salt:
        return False
    given = given.strip().lower()
    for key in _keys():
        secret = _derive(DEVICE_PURPOSE, screen_id, salt, key)
        if hmac.compare_digest(given, signature(secret, screen_id, timestamp_ms, body)):
            return True
    return False
