"""The catalog-change counter (CatalogChange, made by recommend/0010 with its table and row kept) and
the triggers on the images' table that bump it (garden.catalog_changes) belong to the garden, which
owns the table they watch. The triggers are made here on a new database; one that has them from
recommend/0011 keeps them as they are (and its counter unbumped)."""

from django.db import migrations, models

MODEL = "catalogchange"


def content_type_mover(source: str, target: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        types = ContentType.objects.using(schema_editor.connection.alias)
        if not types.filter(app_label=target, model=MODEL).exists():
            types.filter(app_label=source, model=MODEL).update(app_label=target)

    return move


def install(apps, schema_editor):
    from garden import catalog_changes

    catalog_changes.install_missing(schema_editor.connection, counter="recommend_catalogchange")  # its name until 0018


def uninstall(apps, schema_editor):
    from garden import catalog_changes

    catalog_changes.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("garden", "0016_visitor_age_group"),
        # Where the counter's table was created.
        ("recommend", "0010_catalog_change"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CatalogChange",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("version", models.BigIntegerField(default=0)),
                    ],
                    options={"db_table": "recommend_catalogchange"},
                ),
            ],
        ),
        migrations.RunPython(content_type_mover("recommend", "garden"), content_type_mover("garden", "recommend")),
        migrations.RunPython(install, uninstall),
    ]
