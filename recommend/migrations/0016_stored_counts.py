"""KeptCounts is StoredCounts ("kept" is a curator's mark on a picture, Image.kept): the model's name
only. Its table keeps its name (recommend_keptcounts), so the previous release keeps reading it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recommend", "0015_catalog_change_to_garden")]

    operations = [
        migrations.AlterModelTable(name="keptcounts", table="recommend_keptcounts"),
        migrations.RenameModel(old_name="KeptCounts", new_name="StoredCounts"),
    ]
