"""The insights app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

from config.appsettings import integer

TITLE = "Insights: the operators' dashboard"
DOC = "[insights.md](insights.md#settings)"

SETTINGS = [
    integer("INSIGHTS_REFRESH_MINUTES", 10, "how often Celery beat refreshes the rollups"),
    integer(
        "INSIGHTS_RECOMPUTE_HOURS", 3, "each refresh recomputes at least the days touching the last this-many hours (late-committed events)"
    ),
    integer("INSIGHTS_TARGET_PER_KEY", 12, "serving images wanted per emotion × favorite: coverage-grid cells under it are highlighted"),
]
