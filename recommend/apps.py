import logging

from django.apps import AppConfig
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.signals import post_migrate


class RecommendConfig(AppConfig):
    name = "recommend"

    def ready(self) -> None:
        from config.checks import require_choice
        from recommend.rankers import EXPLORATION, RANKERS

        require_choice("RECOMMEND_BACKEND", RANKERS)
        require_choice("RECOMMEND_EXPLORATION", EXPLORATION)
        post_migrate.connect(reinstall_catalog_triggers, sender=self)


def reinstall_catalog_triggers(sender, using, plan=None, **kwargs) -> None:
    """After ``migrate``: put back catalog triggers that a later migration dropped (SQLite drops a
    remade table's triggers), so the migrated database always has them (recommend.catalog_changes)."""
    from recommend import catalog_changes  # models are loaded by now

    if not MigrationRecorder(connections[using]).migration_qs.filter(app="recommend", name="0011_catalog_triggers").exists():
        return  # migrated to a point before the triggers (or backwards past them)
    if gone := catalog_changes.missing(using):
        logging.getLogger(__name__).warning("Reinstalling the catalog triggers a migration dropped: %s", ", ".join(gone))
        catalog_changes.install(connections[using])
