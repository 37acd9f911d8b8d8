from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Prompt screening, the image check on every generated picture, and the moderation log (docs/safety.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "safety"
    verbose_name = "Safety"

    def ready(self):
        from safety import checks  # noqa: F401 (registers the check --deploy warnings)
