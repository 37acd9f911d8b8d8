# The serving-set version (garden.models.ServingState): one row, created here.

import secrets

from django.db import migrations, models


def create_state(apps, schema_editor):
    apps.get_model("garden", "ServingState").objects.get_or_create(pk=1, defaults={"version": secrets.token_hex(8)})


class Migration(migrations.Migration):
    dependencies = [("garden", "0003_visitor_string_id")]

    operations = [
        migrations.CreateModel(
            name="ServingState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(create_state, migrations.RunPython.noop),
    ]
