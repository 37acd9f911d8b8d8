"""Terms get a category (safety.categories). Existing curator rows become profanity terms and
exceptions, which is what they screened before: glin-profanity's lists plus the curators' words."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("safety", "0003_alter_release_options_alter_term_options")]

    operations = [
        migrations.RemoveConstraint(model_name="term", name="safety_term_unique"),
        migrations.AddField(
            model_name="term",
            name="category",
            field=models.CharField(
                choices=[
                    ("minors", "minors in a sexual context"),
                    ("sexual", "nudity and sexual content"),
                    ("violence", "gore and violence"),
                    ("hate", "hate symbols and slurs"),
                    ("self_harm", "self-harm"),
                    ("profanity", "profanity"),
                ],
                default="profanity",
                help_text="A refusal names the category; an exception lets through that category's terms only.",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="term",
            name="text",
            field=models.CharField(
                help_text=(
                    "A word or phrase, matched after normalisation (width, case, accents, look-alike letters). "
                    "Latin words match whole words and their -s/-ed/-ing forms; =word matches the word alone, stem* every word that starts with it."
                ),
                max_length=100,
            ),
        ),
        migrations.AlterModelOptions(
            name="term",
            options={"ordering": ["category", "kind", "text"], "verbose_name": "term", "verbose_name_plural": "terms"},
        ),
        migrations.AddConstraint(
            model_name="term",
            constraint=models.UniqueConstraint(fields=("text", "kind", "category"), name="safety_term_unique"),
        ),
    ]
