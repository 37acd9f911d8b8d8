"""Allowed exceptions every garden starts with: phrases that hold a blocked word but are fine here."""

from django.db import migrations

GARDEN_PHRASES = {
    "bare trees": "garden word (a curator may block 'bare')",
    "blood-orange sky": "garden colour (a curator may block 'blood')",
    "blood orange": "garden colour",
    "blue tit": "a bird ('tit' is on the shipped list)",
    "great tit": "a bird ('tit' is on the shipped list)",
}


def add_phrases(apps, schema_editor):
    Term = apps.get_model("safety", "Term")
    for text, note in GARDEN_PHRASES.items():
        Term.objects.get_or_create(text=text, kind="allowed", defaults={"note": note})


def remove_phrases(apps, schema_editor):
    apps.get_model("safety", "Term").objects.filter(text__in=GARDEN_PHRASES, kind="allowed").delete()


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    operations = [migrations.RunPython(add_phrases, remove_phrases)]
