"""GardenerPolicy.set_by_demo: the demo's policy, turned to review mode once a real model is configured.

A policy made by an earlier ``make run`` (tend_garden --demo: on, trusted, one trial pair, the rest
untouched) is marked as the demo's: the worst a wrong guess does is turn trusted to review.
"""

from django.db import migrations, models

DEMO = {"enabled": True, "promotion_mode": "trusted", "trial_pairs": 1}
DEFAULTS = {
    "target_per_key": 12,
    "minimum_per_key": 4,
    "pool_backlog_limit": 200,
    "daily_image_budget": 100,
    "daily_gpu_minutes": 60,
    "retire_min_impressions": 50,
    "retire_probability": 0.95,
    "bred_share": 0.5,
    "images_per_job": 4,
}


def mark_the_demos_policy(apps, schema_editor):
    apps.get_model("gardener", "GardenerPolicy").objects.filter(**DEMO, **DEFAULTS).update(set_by_demo=True)


class Migration(migrations.Migration):
    dependencies = [
        ("gardener", "0006_alter_emotionpolicy_options_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="gardenerpolicy",
            name="set_by_demo",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(mark_the_demos_policy, migrations.RunPython.noop),
    ]
