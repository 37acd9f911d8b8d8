"""``GenerationJob.interactive`` is called ``live`` (one word for the live picture, issue 72/70).

State only: the column keeps its name (``db_column="interactive"``), so a release still running
the old code reads and writes the same column while the new one rolls out.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0017_job_stage"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(model_name="generationjob", old_name="interactive", new_name="live"),
                migrations.AlterField(
                    model_name="generationjob",
                    name="live",
                    field=models.BooleanField(
                        db_column="interactive",
                        default=False,
                        help_text="A person waits for this picture now (the live picture): the lean path",
                    ),
                ),
            ]
        ),
    ]
