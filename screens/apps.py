from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


def _ensure_operators(sender, using="default", **kwargs):
    # After every migrate (and test-database flush) the Screen operators group holds exactly its rights.
    from django.contrib.auth.models import Group
    from django.db import connections

    from screens.services import ensure_operators_group

    if using == "default" and Group._meta.db_table in connections[using].introspection.table_names():
        ensure_operators_group()


class ScreensConfig(AppConfig):
    name = "screens"
    verbose_name = gettext_lazy("Screens")

    def ready(self):
        from config.metrics import register_collector
        from screens import checks  # noqa: F401 (registers the beat settings' check)
        from screens.metrics import ScreensCollector

        register_collector(ScreensCollector)  # the fleet on /metrics
        post_migrate.connect(_ensure_operators, sender=self, dispatch_uid="screens.ensure_operators")
