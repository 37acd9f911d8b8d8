"""The catalog-change counter's table is named after its owner: recommend_catalogchange becomes
garden_catalogchange, its row kept.

Running releases survive it: the previous release's processes, still serving during a deploy, read
the counter from ``recommend_catalogchange`` (they never write it: only the triggers and
``migrate`` do), so that name stays a read-only view of the new table, and the triggers keep their
names (those processes check them by name before trusting the counter). The triggers are made
again, their bodies now writing the new table. Step two, in the next release (when no process of
this one's predecessor runs): drop the view and rename the triggers to ``garden_catalog_*``.
"""

from django.db import migrations

OLD, NEW = "recommend_catalogchange", "garden_catalogchange"


def triggers_on(table: str):
    def install(apps, schema_editor):
        from garden import catalog_changes

        catalog_changes.install(schema_editor.connection, counter=table, bump=False)

    return install


def create_view(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    schema_editor.execute(f"CREATE VIEW {quote(OLD)} AS SELECT id, version FROM {quote(NEW)}")


def drop_view(apps, schema_editor):
    schema_editor.execute(f"DROP VIEW IF EXISTS {schema_editor.connection.ops.quote_name(OLD)}")


class Migration(migrations.Migration):
    dependencies = [("garden", "0017_catalog_change_triggers")]

    operations = [
        # Backwards, last: the triggers write the old table again.
        migrations.RunPython(migrations.RunPython.noop, triggers_on(OLD)),
        migrations.AlterModelTable(name="catalogchange", table=None),
        migrations.RunPython(triggers_on(NEW), migrations.RunPython.noop),
        migrations.RunPython(create_view, drop_view),
    ]
