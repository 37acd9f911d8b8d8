"""System checks: C2PA signing off is an Info (a valid setup, nothing to fix); configured files
that cannot be read are a Warning (every picture would fail to sign); so is a bad algorithm."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Info, Warning, register

ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")


@register(deploy=True)
def c2pa_signing_off(app_configs, **kwargs):
    """Said by ``check --deploy`` only: a development checkout without a certificate is normal."""
    if settings.GARDEN_C2PA_CERT and settings.GARDEN_C2PA_KEY:
        return []
    return [
        Info(
            "C2PA signing is off: pictures carry XMP and the watermark but no signed manifest.",
            hint="Set GARDEN_C2PA_CERT and GARDEN_C2PA_KEY to PEM files (docs/provenance.md: c2pa_test_cert makes a test pair).",
            id="provenance.I001",
        )
    ]


@register()
def c2pa_signing(app_configs, **kwargs):
    cert, key = settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY
    if not (cert and key):
        return []
    problems = []
    for name, path in (("GARDEN_C2PA_CERT", cert), ("GARDEN_C2PA_KEY", key)):
        try:
            Path(path).read_bytes()
        except OSError as exc:
            problems.append(
                Warning(f"{name} ({path}) cannot be read: {exc.strerror}.", hint="Fix the path or its permissions.", id="provenance.W001")
            )
    if settings.GARDEN_C2PA_ALG.lower() not in ALGORITHMS:
        problems.append(
            Warning(f"GARDEN_C2PA_ALG={settings.GARDEN_C2PA_ALG!r} is not one of {', '.join(ALGORITHMS)}.", id="provenance.W002")
        )
    return problems
