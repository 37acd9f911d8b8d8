"""Visitor.generation is Visitor.age_group ("generation" names the painting of pictures): the
column is renamed, its values kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("garden", "0015_infrastructure_models_to_infra"),
        ("recommend", "0004_event_segment"),  # its SQL reads the column by its first name
    ]

    operations = [migrations.RenameField(model_name="visitor", old_name="generation", new_name="age_group")]
