"""GardenerPolicy.trial_pairs defaults to 4, the setting that learned fastest in bench/gardener.py
(docs/gardener.md, Trials). A policy row that exists keeps its value: a 0 may be a curator's."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gardener", "0008_translated_labels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="gardenerpolicy",
            name="trial_pairs",
            field=models.PositiveIntegerField(
                default=4,
                help_text="Bred pairs a key may hold above its target while visitors judge them; while a key is above its target, its weakest judged pictures (below the key's median) are retired to make room. 4 learned fastest in the simulation (0 = off)",
                verbose_name="trial pairs",
            ),
        ),
    ]
