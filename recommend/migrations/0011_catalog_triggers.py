"""The catalog-change triggers on garden_image (recommend.catalog_changes), made here for each database
rather than by the first rebuild. Installing them bumps the catalog version: kept counts from before
recount once."""

from django.db import migrations


def install(apps, schema_editor):
    from recommend import catalog_changes

    catalog_changes.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from recommend import catalog_changes

    catalog_changes.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("recommend", "0010_catalog_change"),
        ("garden", "0011_image_live"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
