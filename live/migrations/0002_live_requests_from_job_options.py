"""Live pictures asked before LiveRequest existed kept their state as JSON keys of the generation
job's ``options`` (``live``, ``visitor``, ``from``). Each such job gets its LiveRequest row and the
flag someone waits for (``interactive``, called ``live`` from generation 0015 on), and the keys are removed from its options (a visitor id left in another
app's row is one a deletion request would no longer find). Reversible: the keys come back.
"""

from django.db import migrations

LIVE_KEYS = ("live", "visitor", "from")
BATCH = 1000


def _search_key(job) -> str:
    return f"{job.emotion}/{job.favorite}" if job.favorite else job.emotion


def _flag(model) -> str:
    """The flag's field name in this migration state (generation 0015 renamed it; the column is the same)."""
    return "live" if any(field.name == "live" for field in model._meta.fields) else "interactive"


def to_rows(apps, schema_editor):
    GenerationJob = apps.get_model("generation", "GenerationJob")
    flag = _flag(GenerationJob)
    LiveRequest = apps.get_model("live", "LiveRequest")
    marked = GenerationJob.objects.filter(options__has_key="live") | GenerationJob.objects.filter(options__has_key="visitor")
    pending = marked.order_by("pk").only("pk", "options", "emotion", "favorite", flag)
    last = None
    while True:
        page = pending.filter(pk__gt=last) if last is not None else pending
        batch = list(page[:BATCH])
        if not batch:
            return
        requests = []
        for job in batch:
            options = dict(job.options or {})
            if options.get("live"):
                requests.append(
                    LiveRequest(
                        job_id=job.pk,
                        visitor_id=str(options.get("visitor") or "")[:64],
                        search_key=_search_key(job)[:120],
                        from_key=str(options.get("from") or "")[:512],
                    )
                )
                setattr(job, flag, True)
            job.options = {name: value for name, value in options.items() if name not in LIVE_KEYS}
        LiveRequest.objects.bulk_create(requests, ignore_conflicts=True)
        GenerationJob.objects.bulk_update(batch, ["options", flag])
        last = batch[-1].pk


def to_options(apps, schema_editor):
    GenerationJob = apps.get_model("generation", "GenerationJob")
    flag = _flag(GenerationJob)
    LiveRequest = apps.get_model("live", "LiveRequest")
    requests = LiveRequest.objects.select_related("job").order_by("pk")
    for start in range(0, requests.count(), BATCH):
        jobs = []
        for request in requests[start : start + BATCH]:
            job = request.job
            extra = {"live": True, **({"visitor": request.visitor_id} if request.visitor_id else {})}
            job.options = {**(job.options or {}), **extra, **({"from": request.from_key} if request.from_key else {})}
            setattr(job, flag, False)
            jobs.append(job)
        GenerationJob.objects.bulk_update(jobs, ["options", flag])
    LiveRequest.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("live", "0001_initial"),
        ("generation", "0011_job_interactive"),
    ]

    operations = [migrations.RunPython(to_rows, to_options)]
