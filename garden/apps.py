from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GardenConfig(AppConfig):
    name = "garden"
    verbose_name = gettext_lazy("Garden images and visitors")

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.db.models.signals import post_migrate

        from config.checks import require_choice
        from garden import catalog_changes, checks, labels  # noqa: F401 (registers the storage and label checks)
        from garden.faces import BACKENDS, expression

        require_choice("GARDEN_FACE_BACKEND", BACKENDS)
        require_choice("GARDEN_EXPRESSION_MODE", expression.MODES)
        require_choice("GARDEN_EXPRESSION_COLOR", expression.COLORS)
        require_choice("GARDEN_EXPRESSION_RANGE", expression.RANGES)
        require_choice("GARDEN_EXPRESSION_OUTPUT", expression.OUTPUTS)
        # A configured model that is missing or malformed stops the process here, naming the setting.
        expression.check_configured()
        worker_ready.connect(checks.check_at_worker_start, weak=False, dispatch_uid="garden-storage-check")
        # A migration that remade the images' table (SQLite) dropped the catalog triggers: put them back.
        post_migrate.connect(catalog_changes.reinstall_after_migrate, sender=self, dispatch_uid="garden-catalog-triggers")
