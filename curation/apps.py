from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


def _ensure_curators(sender, using="default", **kwargs):
    # After every migrate (and test-database flush) the Curators group holds exactly its rights.
    # auth's own post_migrate handler runs first, so the Permission rows exist by now, unless only
    # some apps were migrated (`migrate recommend 0003` on a new database): then nothing to do yet.
    from django.contrib.auth.models import Group
    from django.db import connections

    from curation.services import ensure_curators_group

    if using == "default" and Group._meta.db_table in connections[using].introspection.table_names():
        ensure_curators_group()


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = gettext_lazy("Curation")

    def ready(self):
        from django.contrib import admin

        # The venue's admin says whose it is, in the curator's language (Django's default is "Django administration").
        admin.site.site_header = gettext_lazy("Emotion Garden administration")
        admin.site.site_title = gettext_lazy("Emotion Garden admin")
        admin.site.index_title = gettext_lazy("Curation and operations")
        post_migrate.connect(_ensure_curators, sender=self, dispatch_uid="curation.ensure_curators")
