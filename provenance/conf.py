"""The provenance app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import flag, text

TITLE = "Provenance: the watermark and C2PA signing"
DOC = "[provenance.md](provenance.md#settings)"

SETTINGS = [
    flag(
        "GARDEN_PROVENANCE_WATERMARK",
        True,
        "the invisible watermark in generated pictures (and in the repainted region of retouched ones), where "
        "requirements/generation.txt is installed",
    ),
    text(
        "GARDEN_C2PA_CERT",
        "",
        "a PEM certificate chain (leaf first) for signing C2PA manifests; signing is off while it or the key is empty "
        "(`check --deploy` says so, `provenance.I001`; an unreadable file is `provenance.W001`)",
    ),
    text("GARDEN_C2PA_KEY", "", "the PEM private key of that certificate"),
    text("GARDEN_C2PA_ALG", "es256", "the key's algorithm (es256/384/512, ps256/384/512, ed25519)"),
]
