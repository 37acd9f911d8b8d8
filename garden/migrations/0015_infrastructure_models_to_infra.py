"""PeriodicRun and IdempotencyKey belong to the infra app now (infra/0001): their tables and rows stay
as they are, only Django's state leaves the garden."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0014_serving_index_only"),
        ("infra", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PeriodicRun"), migrations.DeleteModel(name="IdempotencyKey")],
        ),
    ]
