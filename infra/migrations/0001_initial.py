"""PeriodicRun and IdempotencyKey, moved here from the garden app with their tables and rows: the
tables keep their names (garden_periodicrun, garden_idempotencykey), so only Django's state moves,
and with it their content types (and so any permission rows)."""

import django.utils.timezone
from django.db import migrations, models

MODELS = ("periodicrun", "idempotencykey")


def content_types_mover(source: str, target: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        taken = set(ContentType.objects.using(db).filter(app_label=target, model__in=MODELS).values_list("model", flat=True))
        ContentType.objects.using(db).filter(app_label=source, model__in=set(MODELS) - taken).update(app_label=target)

    return move


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        # Where the tables were created.
        ("garden", "0010_idempotency_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PeriodicRun",
                    fields=[
                        ("name", models.CharField(help_text="The Celery task's name", max_length=200, primary_key=True, serialize=False)),
                        ("started_at", models.DateTimeField()),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, help_text="Empty while the run is going on (or if it died)", null=True),
                        ),
                        ("ok", models.BooleanField(help_text="Empty while running; false when the task raised", null=True)),
                        ("detail", models.TextField(blank=True, default="", help_text="What it returned, or the error")),
                        ("last_ok_at", models.DateTimeField(blank=True, help_text="When a run last ended without an error", null=True)),
                    ],
                    options={"db_table": "garden_periodicrun"},
                ),
                migrations.CreateModel(
                    name="IdempotencyKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("scope", models.CharField(max_length=200)),
                        ("key", models.CharField(max_length=255)),
                        ("fingerprint", models.CharField(max_length=64)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField(db_index=True)),
                        ("status_code", models.PositiveSmallIntegerField(null=True)),
                        ("content_type", models.CharField(blank=True, max_length=200)),
                        ("headers", models.JSONField(default=dict)),
                        ("body", models.BinaryField(default=b"")),
                    ],
                    options={
                        "db_table": "garden_idempotencykey",
                        "constraints": [models.UniqueConstraint(fields=("scope", "key"), name="idempotency_scope_key")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_mover("garden", "infra"), content_types_mover("infra", "garden")),
    ]
