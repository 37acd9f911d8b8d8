"""LibraryEntry and LibraryScan, moved here from the generation app with their tables and rows: the
tables keep their names (generation_libraryentry, generation_libraryscan), so only Django's state
moves, and with it their content types (and so the permission rows and the admin's history)."""

import django.utils.timezone
from django.db import migrations, models

MODELS = ("libraryentry", "libraryscan")


def content_types_mover(source: str, target: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        taken = set(ContentType.objects.using(db).filter(app_label=target, model__in=MODELS).values_list("model", flat=True))
        ContentType.objects.using(db).filter(app_label=source, model__in=set(MODELS) - taken).update(app_label=target)

    return move


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        # Where the tables were created and last changed.
        ("generation", "0018_job_live"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LibraryScan",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("trigger", models.CharField(help_text="start, periodic, admin, command, a1111 or install", max_length=32)),
                        (
                            "state",
                            models.CharField(
                                choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                                default="queued",
                                max_length=16,
                            ),
                        ),
                        ("requested_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("added", models.JSONField(blank=True, default=list)),
                        ("changed", models.JSONField(blank=True, default=list)),
                        ("lost", models.JSONField(blank=True, default=list)),
                        (
                            "settling",
                            models.JSONField(blank=True, default=list, help_text="Files still being written: listed once they hold still"),
                        ),
                        (
                            "message",
                            models.TextField(
                                blank=True, default="", help_text="The scan's summary, the default model's news, or the error"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "generation_libraryscan",
                        "ordering": ["-requested_at"],
                    },
                ),
                migrations.CreateModel(
                    name="LibraryEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("pipeline", "Model"),
                                    ("lora", "LoRA"),
                                    ("embedding", "Textual-inversion embedding"),
                                    ("vae", "VAE"),
                                    ("upscaler", "Upscaler"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "name",
                            models.CharField(
                                help_text="What jobs, prompts (&lt;lora:name:1&gt;) and A1111 clients call it", max_length=200
                            ),
                        ),
                        ("path", models.CharField(help_text="Relative to GARDEN_MODELS_DIR", max_length=500)),
                        (
                            "family",
                            models.CharField(
                                choices=[
                                    ("sd1", "SD 1.x"),
                                    ("sd2", "SD 2.x"),
                                    ("sdxl", "SDXL"),
                                    ("turbo", "Turbo (few steps, no guidance)"),
                                    ("flux", "Flux"),
                                    ("sd3", "SD 3"),
                                    ("pixart", "PixArt / Sana"),
                                    ("other", "Other"),
                                ],
                                default="other",
                                max_length=16,
                            ),
                        ),
                        ("size_bytes", models.BigIntegerField(default=0)),
                        ("default_steps", models.PositiveIntegerField(blank=True, null=True)),
                        ("default_guidance", models.FloatField(blank=True, null=True)),
                        ("default_width", models.PositiveIntegerField(blank=True, null=True)),
                        ("default_height", models.PositiveIntegerField(blank=True, null=True)),
                        ("is_default", models.BooleanField(default=False, help_text="The pipeline jobs use when they name none")),
                        (
                            "live",
                            models.BooleanField(
                                default=False, help_text="Paints live pictures for visitors (docs/live.md); one pipeline at most"
                            ),
                        ),
                        ("present", models.BooleanField(default=True, help_text="Found by the last scan")),
                        (
                            "missing_since",
                            models.DateTimeField(blank=True, help_text="When a scan first found its file gone (empty: present)", null=True),
                        ),
                        (
                            "details",
                            models.JSONField(
                                blank=True, default=dict, help_text="What the scan read (class names, base model, trigger words)"
                            ),
                        ),
                        ("scanned_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "sha256",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="sha256 of the file, computed once per size and modification time",
                                max_length=64,
                            ),
                        ),
                        (
                            "short_hash",
                            models.CharField(
                                blank=True, default="", help_text="A1111's short hash (the sha256's first 10 hex digits)", max_length=10
                            ),
                        ),
                        (
                            "source",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="Where manage.py install_model got it (Hub repo, URL or path)",
                                max_length=1000,
                            ),
                        ),
                        (
                            "usable",
                            models.BooleanField(default=True, help_text="This product can paint with it; else unusable_reason says why"),
                        ),
                        ("unusable_reason", models.CharField(blank=True, default="", max_length=500)),
                        (
                            "default_vae",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="A VAE of the library used when a job names none; empty: the model's own",
                                max_length=200,
                            ),
                        ),
                        (
                            "live_vae",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="A tiny VAE of the library (TAESD) that decodes this model's live pictures on GPU workers; empty: its own VAE",
                                max_length=200,
                            ),
                        ),
                        (
                            "dtype",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "The worker's (GARDEN_DIFFUSION_DTYPE)"),
                                    ("auto", "Automatic (bf16 for transformer models, fp16 otherwise, fp32 on CPU)"),
                                    ("fp16", "fp16"),
                                    ("bf16", "bf16"),
                                    ("fp32", "fp32"),
                                ],
                                default="",
                                max_length=8,
                            ),
                        ),
                        (
                            "offload",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "The worker's (GARDEN_DIFFUSION_OFFLOAD)"),
                                    ("none", "None: the whole model on the GPU"),
                                    ("model", "Model: one component on the GPU at a time"),
                                    ("sequential", "Sequential: one layer at a time (least memory, slowest)"),
                                ],
                                default="",
                                max_length=16,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "library entry",
                        "verbose_name_plural": "library entries",
                        "db_table": "generation_libraryentry",
                        "ordering": ["kind", "name"],
                        "constraints": [
                            models.UniqueConstraint(fields=("kind", "name"), name="library_kind_name_unique"),
                            models.UniqueConstraint(
                                condition=models.Q(("is_default", True)), fields=("kind",), name="library_one_default_per_kind"
                            ),
                            models.UniqueConstraint(condition=models.Q(("live", True)), fields=("kind",), name="library_one_live_pipeline"),
                            models.CheckConstraint(
                                condition=models.Q(models.Q(("live", True), _negated=True), ("kind", "pipeline"), _connector="OR"),
                                name="library_live_is_pipeline",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_mover("generation", "library"), content_types_mover("library", "generation")),
    ]
