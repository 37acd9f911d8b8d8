"""Visitor.segment: the visitor's segment stored with its labels, so database statements read it
instead of recomputing ``garden.visitors.segment_of`` in SQL."""

from django.db import migrations, models

from garden.visitors import segment_of

BATCH = 2000


def fill_segments(apps, schema_editor):
    Visitor = apps.get_model("garden", "Visitor")
    changed = []
    for visitor in Visitor.objects.only("id", "generation", "gender").iterator(chunk_size=BATCH):
        visitor.segment = segment_of(visitor.generation, visitor.gender)
        if visitor.segment:
            changed.append(visitor)
        if len(changed) >= BATCH:
            Visitor.objects.bulk_update(changed, ["segment"])
            changed = []
    Visitor.objects.bulk_update(changed, ["segment"])


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0006_periodic_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitor",
            name="segment",
            field=models.CharField(blank=True, default="", editable=False, max_length=30),
        ),
        migrations.RunPython(fill_segments, migrations.RunPython.noop),
    ]
