# The visitor's age group is called age_group everywhere in the code (docs/development.md, glossary);
# the column is renamed in place, so every rollup row is kept.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0003_gardenrollup_fallback_help"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="visitorrollup", name="visitorrollup_uniq"),
        migrations.RenameField(model_name="visitorrollup", old_name="generation", new_name="age_group"),
        migrations.AlterField(
            model_name="visitorrollup",
            name="age_group",
            field=models.CharField(blank=True, default="", help_text="Apparent age group (garden.Visitor.AgeGroup)", max_length=16),
        ),
        migrations.AddConstraint(
            model_name="visitorrollup",
            constraint=models.UniqueConstraint(
                fields=("granularity", "bucket", "emotion", "age_group", "gender"), name="visitorrollup_uniq"
            ),
        ),
    ]
