"""The retouch app's own state and what it registers with generation (generation.kinds): a retouch
job is a generation job plus its RetouchJob row; generation reads neither retouch's options nor its
kinds by name."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from garden import keys
from generation import kinds
from generation.imagefile import source_type_for
from generation.models import GenerationJob
from generation.planning import ImageSpec, image_key
from provenance import xmp
from retouch.models import RETOUCH_KINDS, RetouchJob

pytestmark = pytest.mark.django_db

OPTIONS = {"rect": [0, 0, 64, 64], "strength": 0.5, "steps_run": 2, "source_key": "", "frames": []}


def retouch_job(**fields) -> GenerationJob:
    values = {"kind": "retouch", "emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 4, "guidance": 7.0,
              "seed": 1, "timestr": "20260101-000000-abc", "backend": "diffusers", "status": "succeeded"}  # fmt: skip
    job = GenerationJob.objects.create(**(values | fields))
    RetouchJob.objects.create(job=job, options=OPTIONS, uploads={"source": f"jobs/{job.pk}/source.png"})
    return job


def test_the_retouch_kinds_are_registered_with_what_generation_asks_of_them():
    assert [name for name, _ in kinds.choices()] == ["images", "bulk", *RETOUCH_KINDS, "upscale"]
    job = retouch_job()
    assert image_key(job=job, spec=ImageSpec(0, keys.LANDSCAPE, 64, 64, 1)).endswith("_0h.png")  # lossless
    assert source_type_for({"kind": "retouch_batch"}) == xmp.COMPOSITE and source_type_for({"kind": "images"}) == xmp.TRAINED
    assert source_type_for({"kind": "upscale"}) == xmp.COMPOSITE  # an edit of a picture, as img2img's
    assert kinds.answer(job, "retouch") == OPTIONS  # no upload keys
    text = GenerationJob.objects.create(emotion="calm", prompt="p", width=64, height=64, steps=4, guidance=7.0, seed=1, timestr="t")
    assert kinds.answer(text, "retouch") is None


def test_the_job_list_reads_each_retouch_jobs_row_in_the_same_query(staff_client):
    retouch_job()

    def listing_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            body = staff_client.get("/api/v1/jobs").json()
        assert all(job["retouch"] == OPTIONS for job in body["results"])
        return len(queries)

    one = listing_queries()
    retouch_job(timestr="20260101-000001-abd")
    retouch_job(timestr="20260101-000002-abe")
    assert listing_queries() == one
