"""The displays app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer

TITLE = "Display zones"
DOC = "[displays.md](displays.md#settings)"

SETTINGS = [
    integer("DISPLAY_MAX_ZONES", 10, "most display zones; `/updateDisplay` and the admin page refuse a new zone beyond it"),
    integer("DISPLAY_ROTATE_SECONDS", 10, "signage page: seconds per image (`?rotate=` overrides per screen)"),
    integer("DISPLAY_POLL_SECONDS", 30, "signage page: seconds between checks for a changed zone (`?poll=` overrides per screen)"),
    integer("DISPLAY_LIVE_REFRESH_MINUTES", 10, "how often beat brings live zones up to date"),
]
