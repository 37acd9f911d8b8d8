"""The bulk form's plan as a curator reads it (issue 85, item 9): no steps for the procedural
painter, the hires fix a choice, a time estimate once the queue has timings, the emotions and the
favorite in words."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from generation.models import GenerationJob

pytestmark = pytest.mark.django_db
PLAN = reverse("admin:generation_generationjob_plan")
ADD = reverse("admin:generation_generationjob_add")


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 16))
    return client


@pytest.fixture
def native_512(settings, tmp_path):
    """A library model that paints 512x512: 1280x800 is larger, so the site's rule adds the hires fix."""
    from library.models import LibraryEntry
    from library.services import entries as library_services
    from tests.curation.test_library_admin import _config_only_pipeline

    _config_only_pipeline(tmp_path / "garden-one")
    settings.GARDEN_MODELS_DIR, settings.GARDEN_HIRES_FIX, settings.GARDEN_HIRES_DENOISING = str(tmp_path), True, 0.5
    library_services.scan()
    LibraryEntry.objects.filter(name="garden-one").update(default_width=512, default_height=512)


ASKED = {"emotion": "calm", "repeat_count": 2, "resolution": "1280x800", "steps": 10, "backend": "diffusers", "model": "garden-one"}


def test_the_procedural_painter_has_no_steps(admin_client):
    plan = admin_client.get(PLAN, ASKED | {"backend": "procedural", "model": ""}).json()["plan"]
    assert "10 steps" not in plan and "The demo's procedural painter paints each picture at once" in plan


def test_the_curator_chooses_the_hires_fix(admin_client, native_512, no_enqueue):
    assert "then repainted at 1280x800" in admin_client.get(PLAN, ASKED).json()["plan"]  # the site's rule
    one_pass = admin_client.get(PLAN, ASKED | {"hires_fix": "off"}).json()["plan"]
    assert "one pass of 10 steps" in one_pass and "repainted" not in one_pass
    form = admin_client.get(ADD).content.decode()
    assert 'name="hires_fix"' in form and "no doubled faces or limbs" in form  # why it is there, on the page
    data = ASKED | {"hires_fix": "off", "others": "", "season": "", "weather": "", "time": "", "guidance": 7.0}
    assert admin_client.post(ADD, data).status_code == 302
    job = GenerationJob.objects.get()
    assert "hires" not in job.options and job.steps_total == 2 * 10  # the landscape and its portrait, one pass each


def test_a_time_estimate_once_the_queue_has_timings(admin_client, settings):
    settings.GARDEN_DIFFUSION_BATCH_SIZE = 4
    asked = ASKED | {"backend": "procedural", "model": "", "resolution": "768x512"}
    assert "No time estimate yet" in admin_client.get(PLAN, asked).json()["plan"]
    # A procedural job on its queue: 4 pictures of 768x512 at 10 steps in 15.72864 s (1 s per MP step), 1 s storing each.
    GenerationJob.objects.create(
        kind="bulk", emotion="calm", prompt="p", width=768, height=512, steps=10, guidance=7.0, seed=1, count=2, images_total=4,
        images_done=4, steps_total=20, steps_done=20, timestr="t", backend="procedural", queue="default", status="succeeded",
        timings={"generate": 15.72864, "store": 4.0},
    )  # fmt: skip
    plan = admin_client.get(PLAN, asked).json()["plan"]
    assert plan.endswith("All done in about 20 s at the queue's recent pace."), plan
    two = admin_client.get(PLAN, asked | {"emotion": ["calm", "sad"]}).json()["plan"]
    assert two.endswith("All done in about 40 s at the queue's recent pace."), two


def test_the_emotions_and_the_favorite_in_words(admin_client):
    asked = ASKED | {"backend": "procedural", "model": "", "season": "winter", "weather": "sunny", "time": "the-early-dawn"}
    plan = admin_client.get(PLAN, asked | {"emotion": ["calm", "sad"]}).json()["plan"]
    assert plan.startswith("2 jobs (Calm, Sad), 8 pictures for Winter, Sunny, Early dawn."), plan
    japanese = admin_client.get(PLAN, asked, HTTP_ACCEPT_LANGUAGE="ja").json()["plan"]
    assert "冬、晴れ、" in japanese and "the-early-dawn" not in japanese and "calm" not in japanese
