# Events keep the segment they were counted under, so counts survive the visitor's labels being
# deleted (retention, a deletion request). Existing events get their visitor's present segment.

from django.db import migrations, models

BACKFILL = """
UPDATE recommend_interaction SET segment = (
    SELECT LOWER(TRIM(v.generation)) || '|' || LOWER(TRIM(v.gender)) FROM garden_visitor v WHERE v.id = recommend_interaction.visitor_id
)
WHERE visitor_id IN (SELECT id FROM garden_visitor WHERE TRIM(generation) <> '' OR TRIM(gender) <> '')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0004_serving_state"),
        ("recommend", "0003_events_without_visitor_constraint"),
    ]

    operations = [
        migrations.AddField(
            model_name="interaction",
            name="segment",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
