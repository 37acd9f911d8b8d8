from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


def _ensure_analysts(sender, using="default", **kwargs):
    # After every migrate (and test-database flush) the Analysts group holds exactly its rights.
    from insights.services import ensure_analysts_group

    if using == "default":
        ensure_analysts_group()


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = gettext_lazy("Insights")

    def ready(self):
        from config.metrics import register_collector
        from insights import tasks  # noqa: F401 (registers the beat task)
        from insights.metrics import GardenCollector

        register_collector(GardenCollector)  # database and broker figures for /metrics

        post_migrate.connect(_ensure_analysts, sender=self, dispatch_uid="insights.ensure_analysts")
