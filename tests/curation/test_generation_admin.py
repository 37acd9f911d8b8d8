"""Bulk generation from the admin: the form, the job list's progress, cancel and retry."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from garden.models import Emotion, Image
from generation import kinds
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db

ADD = reverse("admin:generation_generationjob_add")
JOBS = reverse("admin:generation_generationjob_changelist")


def form_data(**overrides):
    data = {
        "emotion": "happy",
        "emotion_text": "joyful",
        "season": "spring",
        "weather": "cloudy",
        "time": "day",
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
        "stage": "succeeded",
        "stage_text": "Succeeded",
        "estimate_seconds": None,
        "estimate_missing": "",
        "progress": 1.0,
        "images_done": 4,
        "images_total": 4,
        "queue_position": None,
        "finished": True,
        "error": "",
    }


def test_invalid_parameters_come_back_as_form_errors(curator_client, no_enqueue):
    response = curator_client.post(ADD, form_data(repeat_count=0))
    assert response.status_code == 200
    assert response.context["form"].errors["repeat_count"]
    response = curator_client.post(ADD, form_data(weather=""))
    assert "Pick a season, a weather and a time" in response.context["form"].errors["season"][0]
    response = curator_client.post(ADD, form_data(time="night"))  # not a kiosk value
    assert "Select a valid choice" in response.context["form"].errors["time"][0]
    response = curator_client.post(ADD, form_data(steps=10_000))
    assert "(the most this site allows)" in response.context["form"].errors["steps"][0]
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


def test_one_batch_makes_a_job_for_each_emotion_checked(curator, curator_client, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(ADD, form_data(emotion=["sad", "happy", "fear"], emotion_text="", time="the-middle-of-the-night"))
    assert response.status_code == 302
    jobs = list(GenerationJob.objects.order_by("emotion"))
    assert [(job.emotion, job.favorite, job.kind, job.count, job.created_by) for job in jobs] == [
        (emotion, "spring,cloudy,the-middle-of-the-night", "bulk", 2, curator) for emotion in ("fear", "happy", "sad")
    ]
    assert jobs[0].prompt == "fear, spring,cloudy,the-middle-of-the-night, flowers, fantasy"
    assert sorted(job_id for job_id, _queue in no_enqueue) == sorted(str(job.pk) for job in jobs)
    assert LogEntry.objects.filter(user=curator, action_flag=ADDITION).count() == 3
    (message,) = [str(m) for m in curator_client.get(JOBS).context["messages"]]
    assert message.startswith("Started 3 jobs ") and "(Happy)" in message
    assert message.endswith(
        ": 12 images into the pool. The demo's procedural painter paints each picture at once: "
        "steps, guidance, model and hires fix do not apply."
    )


def test_the_form_starts_with_no_emotion_checked_and_starts_only_the_ones_checked(curator_client, no_enqueue):
    page = curator_client.get(ADD).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="emotion"[^>]*>', page)
    assert len(boxes) == len(Emotion.values) and not [box for box in boxes if "checked" in box]
    refused = curator_client.post(ADD, form_data(emotion=[]))
    assert refused.context["form"].errors["emotion"] == ["Check at least one emotion: each one checked starts a job."]
    assert not GenerationJob.objects.exists()
    curator_client.post(ADD, form_data(emotion=["calm"], emotion_text=""))
    assert list(GenerationJob.objects.values_list("emotion", flat=True)) == ["calm"]
    (message,) = [str(m) for m in curator_client.get(JOBS).context["messages"]]
    assert message.startswith("Started job ") and message.count("(") == 1 and "(Calm)" in message


def test_every_emotion_at_once_and_any_favorite(curator_client, no_enqueue):
    response = curator_client.post(ADD, form_data(emotion=list(Emotion.values), emotion_text="", season="", weather="", time=""))
    assert response.status_code == 302
    assert sorted(GenerationJob.objects.values_list("emotion", "favorite")) == sorted((emotion, "") for emotion in Emotion.values)


def test_the_favorite_offers_exactly_what_kiosks_send(curator_client):
    from garden import keys, pages

    form = curator_client.get(ADD).context["form"]
    offered = [[value for value, _label in form.fields[name].choices] for name in ("season", "weather", "time")]
    assert offered == [["", *words] for _part, words in keys.FAVORITE_PARTS]
    # ... which are the kiosk picker's own values (garden.pages).
    for (_part, words), options in zip(keys.FAVORITE_PARTS, (pages.SEASONS, pages.WEATHERS, pages.TIMES), strict=True):
        assert {value for value, *_labels in options} == set(words)


def test_emotion_text_names_a_single_emotion_and_a_refused_batch_starts_nothing(curator_client, no_enqueue):
    response = curator_client.post(ADD, form_data(emotion=["happy", "sad"]))  # emotion_text "joyful"
    assert "check a single emotion" in response.context["form"].errors["emotion_text"][0]
    response = curator_client.post(ADD, form_data(emotion=["happy", "sad"], emotion_text="", steps=10_000))
    assert "(the most this site allows)" in response.context["form"].errors["steps"][0]
    assert not GenerationJob.objects.exists() and not no_enqueue


def test_the_job_list_filters_and_names_every_kind_registered_ones_too(curator_client):
    """generation's kind column has no choices: the admin's filter and label come from
    generation.kinds.choices(), generation's own kinds and those apps above register."""
    fields = {"emotion": "calm", "prompt": "p", "width": 64, "height": 64, "steps": 1, "guidance": 0.0, "seed": 1, "timestr": "t"}
    bulk = GenerationJob.objects.create(kind="bulk", **fields)
    retouch = GenerationJob.objects.create(kind="retouch", **fields)
    response = curator_client.get(JOBS)
    filters = {choice["display"] for spec in response.context["cl"].filter_specs for choice in spec.choices(response.context["cl"])}
    assert {"Bulk: a landscape and a portrait per index", "Retouch: repaint part of an image", "Retouch a batch of frames"} <= filters
    listed = curator_client.get(JOBS, {"kind": "retouch"}).context["cl"].result_list
    assert [job.pk for job in listed] == [retouch.pk]
    page = curator_client.get(reverse("admin:generation_generationjob_change", args=[retouch.pk]))
    assert "Retouch: repaint part of an image" in page.content.decode()
    assert kinds.label(GenerationJob.objects.get(pk=bulk.pk).kind) == "Bulk: a landscape and a portrait per index"


def test_a_rows_one_count_and_the_job_page_names_the_model_not_its_path(curator_client):
    job = GenerationJob.objects.create(
        emotion="calm", prompt="a calm garden", width=64, height=64, steps=8, guidance=7.0, seed=1, timestr="t", count=4,
        backend="diffusers", model="", model_id="/srv/garden/models/garden-one", status="running",
        steps_done=8, steps_total=8, images_done=4, images_total=8,
    )  # fmt: skip
    # The images column is the row's one count, kept in step by jobs.js from the same answer as the progress cell.
    page = curator_client.get(JOBS).content.decode()
    assert f'<span class="job-images" data-job="{job.pk}">4/8</span>' in page
    answer = curator_client.get(reverse("admin:generation_generationjob_progress") + f"?id={job.pk}").json()["jobs"][0]
    assert (answer["images_done"], answer["images_total"], answer["stage"]) == (4, 8, "finishing")
    detail = curator_client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert "/srv/garden" not in detail
    assert re.search(r'<div class="readonly">garden-one</div>', detail)
    assert f'<span class="job-images" data-job="{job.pk}">4/8</span>' in detail


def test_the_form_says_when_it_adds_a_hires_pass_and_counts_its_steps(curator_client, no_enqueue, settings, tmp_path):
    from library.models import LibraryEntry
    from library.services import entries as library_services
    from tests.curation.test_library_admin import _config_only_pipeline

    _config_only_pipeline(tmp_path / "garden-one")  # a model that paints 512x512 natively
    settings.GARDEN_MODELS_DIR, settings.GARDEN_HIRES_FIX, settings.GARDEN_HIRES_DENOISING = str(tmp_path), True, 0.5
    library_services.scan()
    LibraryEntry.objects.filter(name="garden-one").update(default_width=512, default_height=512)
    plan = reverse("admin:generation_generationjob_plan")
    asked = {"repeat_count": 3, "resolution": "768x512", "steps": 12, "backend": "diffusers", "model": "garden-one"}
    two_passes = (
        "Each picture is painted at 624x416, then repainted at 768x512 (the hires fix, since the model paints smaller pictures): "
        "12 + 6 steps a picture."
    )
    assert curator_client.get(plan, asked).json() == {"plan": f"No emotion checked: nothing would start. {two_passes}"}
    both = curator_client.get(plan, asked | {"emotion": ["calm", "sad"]}).json()
    no_estimate = "No time estimate yet: no job of this painter has finished on its queue."
    assert both == {"plan": f"2 jobs (Calm, Sad), 12 pictures. {two_passes} {no_estimate}"}
    procedural = curator_client.get(plan, {**asked, "emotion": "calm", "backend": "procedural", "model": ""}).json()["plan"]
    assert procedural == (
        "1 job (Calm), 6 pictures. The demo's procedural painter paints each picture at once: steps, guidance, model and "
        f"hires fix do not apply. {no_estimate}"
    )

    started = form_data(emotion=["calm"], emotion_text="", backend="diffusers", model="garden-one", steps=12, repeat_count=1)
    curator_client.post(ADD, started)
    job = GenerationJob.objects.get()
    assert job.steps_total == 2 * (12 + 6)  # the landscape and its portrait, both passes: what "36 steps" counts
    (message,) = [str(m) for m in curator_client.get(JOBS).context["messages"]]
    assert message.endswith(f": 2 images into the pool. {two_passes}")
    detail = curator_client.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert two_passes in detail
