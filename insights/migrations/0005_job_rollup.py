"""GenerationRollup is JobRollup: the model's name only. Its table keeps its name
(insights_generationrollup), so the previous release's processes keep reading and writing it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("insights", "0004_visitor_age_group")]

    operations = [
        migrations.AlterModelTable(name="generationrollup", table="insights_generationrollup"),
        migrations.RenameModel(old_name="GenerationRollup", new_name="JobRollup"),
    ]
