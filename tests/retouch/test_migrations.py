"""retouch 0002 and generation 0012: retouch jobs made before RetouchJob existed (their options and
upload keys in the job's ``retouch`` column) keep them as RetouchJob rows, on SQLite and PostgreSQL;
and back."""

import uuid

import pytest
from django.utils import timezone

from tests.migration_support import migrate, migrated_from

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("generation", "0011_job_interactive"), ("retouch", None)]
AFTER = [("generation", "0012_registered_kinds"), ("retouch", "0002_retouch_jobs_from_generation")]

OPTIONS = {"rect": [0, 0, 64, 64], "strength": 0.5, "steps_run": 2, "source_key": "", "frames": []}
UPLOADS = {"source": "jobs/1/source.png", "mask": "jobs/1/mask.png"}


def old_job(job_model, **fields):
    values = {"emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 4, "guidance": 7.0, "seed": 1,
              "timestr": "t", "backend": "diffusers", "created_at": timezone.now()}  # fmt: skip
    return job_model.objects.create(id=uuid.uuid4(), **(values | fields))


def test_retouch_options_move_to_retouch_jobs_and_back():
    with migrated_from(BEFORE) as old:
        job_model = old.get_model("generation", "GenerationJob")
        single = old_job(job_model, kind="retouch", retouch={**OPTIONS, "uploads": UPLOADS})
        frames = [[1, "0001.png"], [2, "0002.png"]]
        batch = old_job(
            job_model,
            kind="retouch_batch",
            status="succeeded",
            retouch={**OPTIONS, "frames": frames, "uploads": UPLOADS, "uploads_purged": True},
        )
        text = old_job(job_model, kind="images", options={"sampler": "euler"})

        new = migrate(AFTER)
        retouch_model = new.get_model("retouch", "RetouchJob")
        rows = {row.job_id: row for row in retouch_model.objects.all()}
        assert set(rows) == {single.pk, batch.pk}
        assert (rows[single.pk].options, rows[single.pk].uploads, rows[single.pk].uploads_purged) == (OPTIONS, UPLOADS, False)
        assert (rows[batch.pk].options["frames"], rows[batch.pk].uploads_purged) == (frames, True)
        kinds = dict(new.get_model("generation", "GenerationJob").objects.values_list("pk", "kind"))
        assert kinds == {single.pk: "retouch", batch.pk: "retouch_batch", text.pk: "images"}  # the jobs stay as they were
        assert "retouch" not in {field.name for field in new.get_model("generation", "GenerationJob")._meta.fields}

        old = migrate(BEFORE)
        restored = dict(old.get_model("generation", "GenerationJob").objects.values_list("pk", "retouch"))
        assert restored[single.pk] == {**OPTIONS, "uploads": UPLOADS}
        assert restored[batch.pk] == {**OPTIONS, "frames": frames, "uploads": UPLOADS, "uploads_purged": True}
        assert restored[text.pk] == {}


def test_a_migrated_retouch_job_answers_the_job_api_as_before(staff_client):
    """A job stored the old way and migrated: the job API's ``retouch`` is what it was (no upload keys)."""
    with migrated_from(BEFORE) as old:
        job = old_job(old.get_model("generation", "GenerationJob"), kind="retouch", retouch={**OPTIONS, "uploads": UPLOADS})
    body = staff_client.get(f"/api/v1/jobs/{job.pk}").json()
    assert (body["kind"], body["retouch"]) == ("retouch", OPTIONS)
