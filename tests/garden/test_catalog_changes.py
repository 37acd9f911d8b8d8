"""The catalog-change counter the garden's triggers bump (garden.catalog_changes), on the table
names garden publishes for other apps' raw SQL (garden.tables)."""

import pytest
from django.core.management import call_command
from django.db import connection

from garden import catalog_changes, tables
from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_the_published_names_are_the_database_columns():
    with connection.cursor() as cursor:
        images = {column.name for column in connection.introspection.get_table_description(cursor, tables.IMAGE)}
        visitors = {column.name for column in connection.introspection.get_table_description(cursor, tables.VISITOR)}
    assert {tables.IMAGE_ID, tables.IMAGE_KEY, tables.IMAGE_SEARCH_KEY} <= images
    assert {tables.VISITOR_ID, tables.VISITOR_SEGMENT} <= visitors


def test_a_deleted_or_rekeyed_image_bumps_the_counter_and_nothing_else_does():
    first, second = ImageFactory(emotion="calm"), ImageFactory(emotion="happy")
    version = catalog_changes.version()
    Image.objects.filter(pk=first.pk).update(kept=True, status=Image.Status.POOL)
    Image.objects.filter(pk=-1).delete()
    assert catalog_changes.version() == version
    Image.objects.filter(pk=first.pk).update(favorite="spring")  # a new search key
    assert catalog_changes.version() == version + 1
    second.delete()
    assert catalog_changes.version() == version + 2


def test_migrate_puts_back_dropped_triggers_and_bumps_the_counter():
    assert catalog_changes.missing() == []
    catalog_changes.uninstall(connection)
    assert catalog_changes.missing() == list(catalog_changes.TRIGGERS[connection.vendor])
    with pytest.raises(catalog_changes.CatalogTriggersMissing, match=f"catalog triggers on {tables.IMAGE} are missing"):
        catalog_changes.require()
    version = catalog_changes.version()
    call_command("migrate", verbosity=0)  # nothing to migrate: garden's post_migrate reinstalls them
    assert catalog_changes.missing() == [] and catalog_changes.version() == version + 1
    assert catalog_changes.install_missing(connection) == [] and catalog_changes.version() == version + 1
