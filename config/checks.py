"""Start-up checks of settings whose values are names (backends, schedulers).

Each app checks its own names in ``AppConfig.ready()``, which runs when any process starts (web,
worker, beat, management commands) and before it serves anything: a typo stops the process
with a message naming the variable and the allowed values instead of falling back silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_choice(name: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    value = getattr(settings, name)
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid choice: use one of {', '.join(allowed)}.")
