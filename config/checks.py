"""Start-up checks of settings whose values are names (backends, schedulers) or bounded numbers, and the licence files.

Each app checks its own names in ``AppConfig.ready()``, which runs when any process starts (web,
worker, beat, management commands) and before it serves anything: a typo stops the process
with a message naming the variable and the allowed values instead of falling back silently.

``check --deploy`` also warns when LICENSE or THIRD_PARTY_NOTICES.md is missing from the deployed
tree (registered when this module is imported, as the apps' ``ready()`` do).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register
from django.core.exceptions import ImproperlyConfigured

from config.appsettings import variable_of

# The bundled fonts (OFL), Chart.js (MIT) and the project's own licence want their texts shipped with them.
LICENCE_FILES = ("LICENSE", "THIRD_PARTY_NOTICES.md")


def require_choice(name: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    value = getattr(settings, name)
    if value not in allowed:
        raise ImproperlyConfigured(f"{variable_of(name)}={value!r} is not a valid choice: use one of {', '.join(allowed)}.")


def require_at_least(name: str, minimum: float, meaning: str = "") -> None:
    value = getattr(settings, name)
    if value < minimum:
        raise ImproperlyConfigured(f"{variable_of(name)}={value!r} is below {minimum:g}{f': {meaning}' if meaning else ''}.")


@register("licence", deploy=True)
def licence_files_shipped(app_configs=None, **kwargs) -> list[CheckMessage]:
    missing = [name for name in LICENCE_FILES if not (Path(settings.BASE_DIR) / name).is_file()]
    if not missing:
        return []
    return [
        Warning(
            f"{' and '.join(missing)} missing from {settings.BASE_DIR}: the bundled fonts, scripts and models need their licences.",
            hint="Copy them into the image: .containerignore and .dockerignore must not exclude them.",
            id="config.W001",
        )
    ]
