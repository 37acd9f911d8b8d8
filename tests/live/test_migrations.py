"""live 0002: live pictures asked before LiveRequest existed (their state in the job's options)
become LiveRequest rows of interactive jobs, on SQLite and PostgreSQL; and back."""

import uuid

import pytest
from django.utils import timezone

from tests.migration_support import migrate, migrated_from

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("generation", "0011_job_interactive"), ("live", None)]


def old_job(job_model, **fields):
    values = {"emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 1, "guidance": 0.0, "seed": 1,
              "timestr": "t", "backend": "procedural", "queue": "live", "created_at": timezone.now()}  # fmt: skip
    return job_model.objects.create(id=uuid.uuid4(), **(values | fields))


def test_live_option_keys_become_live_requests_and_leave_the_options():
    with migrated_from(BEFORE) as old:
        GenerationJob = old.get_model("generation", "GenerationJob")
        waiting = old_job(
            GenerationJob, favorite="spring,sunny,day", options={"live": True, "visitor": "v-1", "from": "imgPool/calm/img_1_0h.jpeg"}
        )
        finished = old_job(GenerationJob, status="succeeded", options={"live": True, "sampler": "euler"})  # retention cleared it
        staff = old_job(GenerationJob, queue="default", options={"sampler": "euler"})
        new = migrate([("live", "0002_live_requests_from_job_options")])
        job_model = new.get_model("generation", "GenerationJob")
        LiveRequest = new.get_model("live", "LiveRequest")
        request = LiveRequest.objects.get(job=waiting.pk)
        assert (request.visitor_id, request.search_key, request.from_key) == ("v-1", "calm/spring,sunny,day", "imgPool/calm/img_1_0h.jpeg")
        assert LiveRequest.objects.get(job=finished.pk).visitor_id == ""
        assert not LiveRequest.objects.filter(job=staff.pk).exists()
        jobs = {job.pk: job for job in job_model.objects.all()}
        assert (jobs[waiting.pk].interactive, jobs[waiting.pk].options) == (True, {})
        assert (jobs[finished.pk].interactive, jobs[finished.pk].options) == (True, {"sampler": "euler"})
        assert (jobs[staff.pk].interactive, jobs[staff.pk].options) == (False, {"sampler": "euler"})

        # Backwards: the keys come back (a rollback to a release that reads them).
        old = migrate(BEFORE)
        restored = {job.pk: job.options for job in old.get_model("generation", "GenerationJob").objects.all()}
        assert restored[waiting.pk] == {"live": True, "visitor": "v-1", "from": "imgPool/calm/img_1_0h.jpeg"}
        assert restored[finished.pk] == {"sampler": "euler", "live": True}
        assert restored[staff.pk] == {"sampler": "euler"}
