"""CatalogChange belongs to the garden now (garden/0017): its table and row stay, only Django's
state leaves the recommender."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommend", "0014_modelversion_lineage"),
        ("garden", "0017_catalog_change_triggers"),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="CatalogChange")])]
