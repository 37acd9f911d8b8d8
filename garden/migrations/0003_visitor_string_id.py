# Visitor ids become the strings kiosks send (garden.visitors). The foreign keys that point here
# lost their database constraint in recommend 0003, so the key's type can change; Django alters
# the referencing columns (recommend's visitor_id) to the new type in the same step.

from django.db import migrations, models

import garden.visitors


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0002_image_review_index"),
        ("recommend", "0003_events_without_visitor_constraint"),
    ]

    operations = [
        migrations.AlterField(
            model_name="visitor",
            name="id",
            field=models.CharField(default=garden.visitors.new_visitor_id, max_length=64, primary_key=True, serialize=False),
        ),
    ]
