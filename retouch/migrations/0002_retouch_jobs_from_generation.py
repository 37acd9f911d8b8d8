"""Retouch jobs made before RetouchJob existed kept their options and upload keys in the generation
job's ``retouch`` column. Each gets its RetouchJob row (options, uploads, whether the uploads were
purged) before generation 0012 drops that column. Reversible: the column is filled again.
"""

from django.db import migrations

RETOUCH_KINDS = ("retouch", "retouch_batch")
BATCH = 1000


def to_rows(apps, schema_editor):
    GenerationJob = apps.get_model("generation", "GenerationJob")
    RetouchJob = apps.get_model("retouch", "RetouchJob")
    jobs = GenerationJob.objects.filter(kind__in=RETOUCH_KINDS).order_by("pk").only("pk", "retouch")
    last = None
    while batch := list((jobs.filter(pk__gt=last) if last is not None else jobs)[:BATCH]):
        rows = []
        for job in batch:
            stored = dict(job.retouch or {})
            uploads = stored.pop("uploads", {})
            purged = bool(stored.pop("uploads_purged", False))
            rows.append(RetouchJob(job_id=job.pk, options=stored, uploads=uploads, uploads_purged=purged))
        RetouchJob.objects.bulk_create(rows, ignore_conflicts=True)
        last = batch[-1].pk


def to_column(apps, schema_editor):
    GenerationJob = apps.get_model("generation", "GenerationJob")
    RetouchJob = apps.get_model("retouch", "RetouchJob")
    rows = RetouchJob.objects.order_by("pk")
    for start in range(0, rows.count(), BATCH):
        jobs = []
        for row in rows.select_related("job")[start : start + BATCH]:
            row.job.retouch = {**row.options, "uploads": row.uploads, **({"uploads_purged": True} if row.uploads_purged else {})}
            jobs.append(row.job)
        GenerationJob.objects.bulk_update(jobs, ["retouch"])
    RetouchJob.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retouch", "0001_initial"),
    ]
    # generation 0012 drops the column this reads.
    run_before = [
        ("generation", "0012_registered_kinds"),
    ]

    operations = [migrations.RunPython(to_rows, to_column)]
