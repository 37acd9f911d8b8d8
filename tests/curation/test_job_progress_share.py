"""A running job's percentage, stage and estimate as the admin's jobs list says them (issue 85,
item 9): the percentage and the images made agree, a hires fix's first pass counts at its own size,
and the first run on a model says there is no estimate yet instead of nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from generation import progress
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db
PROGRESS = "/admin/generation/generationjob/progress/"


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 16))
    return client


def job(**fields) -> GenerationJob:
    """A bulk job of 3 pairs: 6 pictures in two pipeline calls of 3 (landscape, then portrait)."""
    values = {
        "kind": "bulk", "emotion": "calm", "prompt": "a calm garden", "width": 768, "height": 512, "steps": 10, "guidance": 7.0,
        "seed": 1, "count": 3, "images_total": 6, "steps_total": 20, "timestr": "t", "backend": "diffusers", "queue": "gpu",
        "model": "garden-one", "worker": "w1",
    }  # fmt: skip
    return GenerationJob.objects.create(**(values | fields))


def answer(client, row: GenerationJob) -> dict:
    return client.get(PROGRESS, {"id": row.pk}).json()["jobs"][0]


def test_the_percentage_and_the_images_made_agree(admin_client, settings):
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    now = timezone.now()
    running = job(status="running", stage="painting", steps_done=19, images_done=3, started_at=now, progress_at=now)
    # Before any timing: the second call's pictures are painted (nearly), not stored: not "99 %".
    first = answer(admin_client, running)
    assert first["stage_text"] == "Painting pictures 4–6 of 6" and first["images_done"] == 3
    assert first["progress"] == pytest.approx(0.95 * 0.95 + 0.05 * 0.5)
    # The worker's own pace: storing a picture takes as long as painting it (10 steps x 0.393216 MP at 1 s).
    job(status="succeeded", steps_done=20, images_done=6, timings={"generate": 6 * 3.93216, "store": 6 * 3.93216})
    paced = answer(admin_client, running)
    assert paced["progress"] == pytest.approx(0.5 * 0.95 + 0.5 * 0.5)
    page = admin_client.get("/admin/generation/generationjob/").content.decode()
    assert '<span class="job-progress-text">93%</span>' in page  # the list's first render, before any timing's ratio

    # While the first call's pictures are stored, they are the ones in hand.
    GenerationJob.objects.filter(pk=running.pk).update(steps_done=10, images_done=1)
    assert answer(admin_client, running)["stage_text"] == "Painting pictures 1–3 of 6"
    # Once they are stored, before the next call's first step: the next ones.
    GenerationJob.objects.filter(pk=running.pk).update(steps_done=10, images_done=3)
    assert answer(admin_client, running)["stage_text"] == "Painting pictures 4–6 of 6"


def test_a_hires_fixs_first_pass_counts_at_its_own_size(settings):
    """1024x1024 from a 512x512 first pass: 10 first-pass steps weigh a quarter of 10 second-pass ones."""
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    hires = {"hires": {"steps": 10, "native": [512, 512], "upscaler": "lanczos", "denoising": 0.5}}
    row = job(kind="images", count=1, images_total=1, width=1024, height=1024, steps_total=20, steps_done=10, options=hires)
    assert progress.painted_share(row) == pytest.approx(2.5 / 12.5)  # by steps: 50 %
    row.steps_done = 15
    assert progress.painted_share(row) == pytest.approx(7.5 / 12.5)
    row.status, row.stage = "running", "painting"
    assert progress.stage_text(row) == "Painting"  # one pipeline call: no pictures to name


def test_the_first_run_on_a_model_says_there_is_no_estimate_yet(admin_client):
    now = timezone.now()
    running = job(status="running", stage="painting", steps_done=5, started_at=now, progress_at=now)
    first = answer(admin_client, running)
    assert first["estimate_seconds"] is None and first["estimate_missing"] == "First run on this model: no estimate yet"
    korean = admin_client.get(PROGRESS, {"id": running.pk}, HTTP_ACCEPT_LANGUAGE="ko").json()["jobs"][0]
    assert korean["estimate_missing"] and "estimate" not in korean["estimate_missing"]

    job(status="succeeded", steps_done=20, images_done=6, timings={"generate": 20.0, "store": 3.0})
    timed = answer(admin_client, running)
    assert timed["estimate_seconds"] is not None and timed["estimate_missing"] == ""
