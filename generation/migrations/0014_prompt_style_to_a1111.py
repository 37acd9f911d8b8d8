"""PromptStyle belongs to a1111 (a1111 0001 takes its table and rows): generation forgets the model
and leaves the table alone."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0013_library_identity_usable_options"),
        ("a1111", "0001_prompt_style"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="PromptStyle")]),
    ]
