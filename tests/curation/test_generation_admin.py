"""Bulk generation from the admin: the form, the job list's progress, cancel and retry."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from garden.models import Image
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db

ADD = reverse("admin:generation_generationjob_add")
JOBS = reverse("admin:generation_generationjob_changelist")


def form_data(**overrides):
    data = {
        "emotion": "happy",
        "emotion_text": "joyful",
        "favorite": "spring,cloudy,day",
        "others": "flowers, fantasy",
        "repeat_count": 2,
        "resolution": "768x512",
        "steps": 5,
        "guidance": 7.5,
        "seed": 11,
        "backend": "procedural",
    }
    return data | overrides


def test_form_shows_contract_defaults(curator_client):
    response = curator_client.get(ADD)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["repeat_count"].initial == 10 and form["resolution"].initial == "1280x800" and form["guidance"].initial == 7.5
    assert form["others"].initial.startswith("flowers, fantasy, concept art, trending on artstation")


def test_generate_a_batch_into_the_pool(curator, curator_client, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(ADD, form_data())
    assert response.status_code == 302 and response["Location"] == JOBS
    job = GenerationJob.objects.get()
    assert job.status == "succeeded" and job.kind == "bulk" and job.created_by == curator
    assert job.prompt == "joyful, spring,cloudy,day, flowers, fantasy"
    images = Image.objects.order_by("key")
    assert images.count() == 4
    assert {i.key.rsplit("_", 1)[1] for i in images} == {"0h.jpeg", "0v.jpeg", "1h.jpeg", "1v.jpeg"}
    assert all(i.status == "pool" and i.key.startswith("imgPool/happy/spring,cloudy,day/img_") for i in images)
    assert {(i.width, i.height) for i in images} == {(768, 512), (512, 768)}
    assert LogEntry.objects.get(user=curator, action_flag=ADDITION).object_id == str(job.pk)

    page = curator_client.get(JOBS).content.decode()
    assert f'data-job="{job.pk}"' in page and "Generate a batch" in page
    detail = curator_client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert "Review this batch" in detail and detail.count('height="64"') == 4
    review = curator_client.get(reverse("curation:review") + f"?job={job.pk}")
    assert len(review.context["items"]) == 4
    progress = curator_client.get(reverse("admin:generation_generationjob_progress") + f"?id={job.pk}").json()
    assert progress["jobs"][0] | {"error": ""} == {
        "id": str(job.pk),
        "status": "succeeded",
        "progress": 1.0,
        "images_done": 4,
        "images_total": 4,
        "queue_position": None,
        "finished": True,
        "error": "",
    }


def test_invalid_parameters_come_back_as_form_errors(curator_client, no_enqueue):
    response = curator_client.post(ADD, form_data(favorite="Bad/Favorite!", repeat_count=0))
    assert response.status_code == 200
    assert response.context["form"].errors["repeat_count"]
    response = curator_client.post(ADD, form_data(favorite="bad/favorite!"))
    assert response.status_code == 200 and "Invalid favorite" in response.content.decode()
    assert "Invalid favorite" in response.context["form"].errors["favorite"][0]  # JobRequest's error, next to its field
    response = curator_client.post(ADD, form_data(steps=10_000))
    assert "GARDEN_MAX_STEPS" in response.context["form"].errors["steps"][0]
    assert not GenerationJob.objects.exists() and not no_enqueue


def test_cancel_and_retry(curator, curator_client, no_enqueue):
    curator_client.post(ADD, form_data())
    job = GenerationJob.objects.get()
    assert job.status == "queued"
    progress = curator_client.get(reverse("admin:generation_generationjob_progress") + f"?id={job.pk}").json()
    assert progress["jobs"][0]["queue_position"] == 1
    curator_client.post(JOBS, {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [job.pk]})
    job.refresh_from_db()
    assert job.status == "cancelled"
    curator_client.post(reverse("admin:generation_generationjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "queued"
    curator_client.post(reverse("admin:generation_generationjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert list(LogEntry.objects.filter(user=curator, action_flag=CHANGE).values_list("change_message", flat=True).order_by("pk")) == [
        "Cancelled",
        "Retried",
        "Cancelled",
    ]
    assert "delete_selected" not in curator_client.get(JOBS).content.decode()


def test_plain_staff_and_anonymous_cannot_generate(plain_staff, client):
    staff = Client()
    staff.force_login(plain_staff)
    assert staff.get(ADD).status_code == 403
    assert staff.post(ADD, form_data()).status_code == 403
    assert client.get(ADD).status_code == 302
    assert not GenerationJob.objects.exists()
