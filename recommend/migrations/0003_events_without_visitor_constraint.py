# Visitor ids become strings that may have no Visitor row (garden 0003 follows this one): the
# foreign keys to garden.Visitor drop their database constraint first. Recommendation rows keep
# the ids of the first images shown instead of every key (written on every /garden call).

import django.db.models.deletion
from django.db import migrations, models

LOGGED_PER_ORIENTATION = 12


def keys_to_image_ids(apps, schema_editor):
    Recommendation = apps.get_model("recommend", "Recommendation")
    Image = apps.get_model("garden", "Image")
    batch = []
    for recommendation in Recommendation.objects.exclude(keys=[]).only("id", "keys").iterator(chunk_size=1000):
        keys = list(recommendation.keys or [])
        ids = dict(Image.objects.filter(key__in=keys).values_list("key", "id"))
        landscape = [ids[k] for k in keys if k in ids and not k.endswith("v.jpeg")][:LOGGED_PER_ORIENTATION]
        portrait = [ids[k] for k in keys if k in ids and k.endswith("v.jpeg")][:LOGGED_PER_ORIENTATION]
        recommendation.image_ids = landscape + portrait
        batch.append(recommendation)
        if len(batch) >= 1000:
            Recommendation.objects.bulk_update(batch, ["image_ids"])
            batch = []
    Recommendation.objects.bulk_update(batch, ["image_ids"])


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0002_image_review_index"),
        ("recommend", "0002_feedback_stats_and_versions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="interaction",
            name="visitor",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="interactions", to="garden.visitor"
            ),
        ),
        migrations.AlterField(
            model_name="recommendation",
            name="visitor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="recommendations",
                to="garden.visitor",
            ),
        ),
        migrations.AddField(
            model_name="interaction",
            name="unknown_keys",
            field=models.PositiveSmallIntegerField(default=0, help_text="Keys reported on screen that name no image (not stored)"),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="impression",
            field=models.JSONField(blank=True, default=list, help_text="Keys that were on screen (garden images only)"),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="image_ids",
            field=models.JSONField(
                blank=True, default=list, help_text="Ids of the first RECOMMEND_LOGGED_RESULTS images of each orientation, best first"
            ),
        ),
        migrations.RunPython(keys_to_image_ids, migrations.RunPython.noop),
        migrations.RemoveField(model_name="recommendation", name="keys"),
    ]
