"""What the admin's job and image pages say: Retry and Cancel tell what happened, the read-only job
page has no Save buttons, the promote confirmation says how many of its images it shows, and
undecided images are not marked with the red ✗ of a rejection."""

import re

import pytest
from django.urls import reverse

from garden.models import Image
from generation import selectors as generation_selectors
from generation.models import GenerationJob
from generation.requests import JobRequest
from generation.services import create_job
from tests.curation.test_admin import make_rows
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gpu_worker(monkeypatch):
    """A worker consumes every queue: no banner, and no broadcast to wait for."""
    monkeypatch.setattr(
        generation_selectors, "answering_workers", lambda *, timeout: {"workers": [{"name": "w", "queues": ["default", "gpu"]}]}
    )


def bulk_job(user, **state):
    job = create_job(created_by=user, request=JobRequest(kind="bulk", emotion="calm", count=2, backend="diffusers"), enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(**state)
    job.refresh_from_db()
    return job


def messages_after(client, url):
    response = client.post(url, follow=True)
    return [str(message) for message in response.context["messages"]]


def test_retry_and_cancel_say_what_happened(curator, curator_client, no_enqueue):
    ahead = bulk_job(curator)  # already waiting in the gpu queue
    job = bulk_job(curator, status="failed", images_done=2, error="CUDA out of memory")
    short = str(job.pk)[:8]
    retry = reverse("admin:generation_generationjob_retry", args=[job.pk])
    assert messages_after(curator_client, retry) == [
        f"Job {short} queued again: position 2 in queue gpu; it keeps the 2 of 4 images it made and makes the rest."
    ]
    cancel = reverse("admin:generation_generationjob_cancel", args=[job.pk])
    assert messages_after(curator_client, cancel) == [f"Job {short} cancelled (2 of 4 images made; they stay in the pool)."]
    assert messages_after(curator_client, cancel) == [f"Nothing to do: job {short} is cancelled."]
    GenerationJob.objects.filter(pk=ahead.pk).update(status="running", images_done=1)
    cancel = reverse("admin:generation_generationjob_cancel", args=[ahead.pk])
    assert messages_after(curator_client, cancel) == [
        f"Job {str(ahead.pk)[:8]}: cancel requested; it stops after its current step (1 of 4 images made so far stay in the pool)."
    ]


def test_the_read_only_job_page_has_no_save_buttons(curator, curator_client, no_enqueue):
    job = bulk_job(curator, status="failed")
    page = curator_client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert 'id="job-retry"' in page  # the page's own button stays
    for name in ("_save", "_continue", "_addanother"):
        assert f'name="{name}"' not in page


def test_the_promote_confirmation_says_how_many_it_shows(curator_client):
    make_rows(41, status=Image.Status.POOL, kept=True)
    page = curator_client.get(reverse("admin:garden_image_promote_kept")).content.decode()
    assert "Yes, promote 41" in page
    assert "Showing 24 of the 41 images, newest first; all 41 are promoted." in page
    assert page.count('height="60" loading="lazy"') == 24
    Image.objects.filter(pk__in=Image.objects.values_list("pk", flat=True)[:30]).delete()
    assert "Showing" not in curator_client.get(reverse("admin:garden_image_promote_kept")).content.decode()  # all 11 shown


def test_undecided_images_are_not_marked_as_rejected(curator_client):
    undecided = ImageFactory(status=Image.Status.POOL, seed=1)
    kept = ImageFactory(status=Image.Status.POOL, kept=True, seed=2)
    rejected = ImageFactory(status=Image.Status.POOL, seed=3)
    Image.objects.filter(pk=rejected.pk).update(status=Image.Status.REJECTED)
    page = curator_client.get(reverse("admin:garden_image_changelist")).content.decode()
    cells = {}
    for image in (undecided, kept, rejected):
        row = re.search(rf"<tr>(?:(?!</tr>).)*?{re.escape(image.key)}(?:(?!</tr>).)*</tr>", page, re.S).group(0)
        cells[image.pk] = re.search(r'<td class="field-kept_mark">(.*?)</td>', row, re.S).group(1)
    assert 'title="not decided yet">—<' in cells[undecided.pk] and "icon-" not in cells[undecided.pk]
    assert "icon-yes" in cells[kept.pk]
    assert "icon-no" in cells[rejected.pk]
