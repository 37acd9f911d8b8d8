"""The gardener app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import number, text

TITLE = "The gardener"
DOC = "[gardener.md](gardener.md)"


def favorites(value: str) -> tuple[str, ...]:
    """``any;season`` → ("", "season"): "any" is the key of no favorite."""
    parts = (part.strip() for part in value.split(";"))
    return tuple("" if part.lower() == "any" else part for part in parts if part)


SETTINGS = [
    number("GARDEN_GARDENER_MINUTES", 10.0, "how often beat runs the gardener (minutes)"),
    # The broker's priorities are not used: name a queue that workers consume after the others to put them last.
    text("GARDEN_GARDENER_QUEUE", "", "the queue of the gardener's jobs; empty: each job's normal queue"),
    text(
        "GARDEN_GARDENER_FAVORITES",
        "",
        "the favorites whose keys the gardener fills, separated by `;` (`any` = no favorite), e.g. `any` for "
        "kiosks without the "
        "favorite picker; empty: every favorite a kiosk offers",
        parse=favorites,
    ),
]
