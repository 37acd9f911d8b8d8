"""LibraryEntry and LibraryScan belong to the library app (library 0001 takes their tables, which keep
their names, and their rows): generation forgets the models and leaves the tables alone."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0018_job_live"),
        ("library", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="LibraryEntry"), migrations.DeleteModel(name="LibraryScan")]
        ),
    ]
