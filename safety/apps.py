from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class SafetyConfig(AppConfig):
    """Prompt screening, the image check on every generated picture, and the moderation log (docs/safety.md)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "safety"
    verbose_name = gettext_lazy("Safety")

    def ready(self):
        from safety import checks  # noqa: F401 (registers the check --deploy warnings)
