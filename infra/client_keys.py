"""Client keys: made, looked up and revoked (``ClientKey`` rows; the HTTP side: config.auth).

``ClientKeyRows`` is registered with config.auth in ``InfraConfig.ready()``. A key's last use is written
at most once per LAST_USE_STEP: an SD client polling every second costs one write a minute, not one
per call.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from config.auth import KEY_PREFIX, key_digest, new_client_key
from infra.models import ClientKey

LAST_USE_STEP = timedelta(minutes=1)
SHOWN = len(KEY_PREFIX) + 8  # the characters kept to tell keys apart (48 of the 256 random bits)


class ClientKeyRows:
    """config.auth.ClientKeys on the ``ClientKey`` table."""

    def user_of(self, digest: str):
        key = ClientKey.objects.select_related("user").filter(digest=digest, revoked_at=None, user__is_active=True).first()
        if key is None:
            return None
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USE_STEP:
            ClientKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return key.user, key


def issue(key: ClientKey, *, by) -> str:
    """Give ``key`` (its user and name set, not saved yet) a new secret and save it; the secret is
    returned to be shown once, and only its digest is kept."""
    secret = new_client_key()
    key.prefix, key.digest, key.created_by = secret[:SHOWN], key_digest(secret), by
    key.save()
    return secret


def revoke(keys, *, when=None) -> int:
    """Revoke the live ones of ``keys`` (a queryset): they stop working at once. How many were revoked."""
    return keys.filter(revoked_at=None).update(revoked_at=when or timezone.now())
