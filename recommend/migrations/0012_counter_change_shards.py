"""Change tokens in shards (recommend.tokens): the one row per emotion becomes up to SHARDS rows, so
concurrent likes of an emotion do not all queue on one row lock. Tokens are values to compare, not
data: the old rows go, and every emotion reads as changed once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommend", "0011_catalog_triggers"),
    ]

    operations = [
        migrations.DeleteModel(name="CounterChange"),
        migrations.CreateModel(
            name="CounterChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("emotion", models.CharField(max_length=16)),
                ("shard", models.PositiveSmallIntegerField()),
                ("token", models.CharField(max_length=32)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("emotion", "shard"), name="counterchange_emotion_shard_uniq")],
            },
        ),
    ]
