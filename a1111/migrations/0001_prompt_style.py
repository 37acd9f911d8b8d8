"""PromptStyle belongs to a1111: its rows stay where they are (the table generation made) until the
table is renamed to a1111's, and its content type, with its permissions and admin history, follows."""

from django.db import migrations, models

MODEL = "promptstyle"


def content_type_moves(source: str, target: str):
    def move(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
        if not content_types.filter(app_label=target, model=MODEL).exists():
            content_types.filter(app_label=source, model=MODEL).update(app_label=target)

    return move


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("generation", "0013_library_identity_usable_options"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PromptStyle",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("prompt", models.TextField(blank=True, default="")),
                        ("negative_prompt", models.TextField(blank=True, default="")),
                    ],
                    options={
                        "verbose_name": "prompt style",
                        "verbose_name_plural": "prompt styles",
                        "ordering": ["name"],
                        "db_table": "generation_promptstyle",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="promptstyle", table=None),
        migrations.RunPython(content_type_moves("generation", "a1111"), content_type_moves("a1111", "generation")),
    ]
