"""The screens app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer, number

TITLE = "Screens: heartbeats, enrolment, commands"
DOC = "[fleet.md](fleet.md#settings)"

SETTINGS = [
    number(
        "SCREENS_BEAT_SECONDS",
        15.0,
        "a page beats this often (pages pick up a change with their next answer); silent after two missed beats",
    ),
    integer(
        "SCREENS_BEATS_PER_MINUTE",
        20,
        "most beats one screen may send a minute (429 beyond); keep it above twice `60 / "
        "GARDEN_SCREENS_BEAT_SECONDS` (`manage.py check` warns, `screens.W001`)",
    ),
    integer("SCREENS_BEATS_KEPT", 240, "beats kept per screen for its page (an hour at 15 s)"),
    number("SCREENS_ENROL_HOURS", 48.0, "an enrolment link works this long, once"),
    integer("SCREENS_MAX_UNENROLLED", 50, "most unenrolled pages listed at once"),
    integer("SCREENS_COMMAND_TTL_SECONDS", 600, "a command not delivered within this expires"),
    integer("SCREENS_OUTBOX_WARN_SECONDS", 600, "a like waiting longer in a kiosk's outbox makes the screen a warning"),
    integer("SCREENS_HEAP_LIMIT_MB", 768, "a JS heap past this is a warning, and the page reloads at its next idle moment"),
]
