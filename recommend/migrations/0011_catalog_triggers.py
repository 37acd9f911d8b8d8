"""Made the catalog-change triggers on garden_image when the recommender owned them. The garden makes
them now (garden/0017_catalog_change_triggers, which keeps those this made on existing databases),
so this does nothing; it stays so databases that applied it keep a consistent history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommend", "0010_catalog_change"),
        ("garden", "0011_image_live"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
