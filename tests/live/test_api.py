"""The live picture's kiosk API: POST /live, GET and DELETE /live/<uuid> (docs/live.md)."""

import uuid

import pytest
from django.utils import timezone

from garden.models import Image
from generation.models import GenerationJob, WorkerPresence
from tests.factories import ImageFactory
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_settings")]


def test_a_request_is_accepted_with_its_status_url(api_client, live_worker, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(api_client, {"id": "visitor-1", "emotion": "Happy/spring,sunny,day"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["statusUrl"] == f"http://testserver/live/{body['job']}"
    assert response["Location"] == body["statusUrl"]
    job = GenerationJob.objects.get(pk=body["job"])
    assert (job.kind, job.count, job.queue, job.backend) == ("images", 1, "live", "procedural")
    assert job.live and (job.live_request.visitor_id, job.live_request.search_key) == ("visitor-1", "happy/spring,sunny,day")
    assert job.options == {}  # the live app's state is its own row, not keys of the job's options
    assert (job.emotion, job.favorite, job.width, job.height) == ("happy", "spring,sunny,day", 64, 64)
    assert no_enqueue == [(str(job.pk), "live")]


def test_the_status_of_a_queued_job_has_no_image(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    response = api_client.get(f"/live/{job_id}")
    assert response.status_code == 200
    assert response.json() == {"job": job_id, "status": "queued", "progress": 0.0, "image": None, "withheld": False}
    assert response["Cache-Control"] == "no-store"


def _finished(job_id: str, **image_fields) -> Image:
    image = ImageFactory(status=Image.Status.POOL, emotion="calm", live=True, **image_fields)
    job = GenerationJob.objects.get(pk=job_id)
    job.images.add(image)
    GenerationJob.objects.filter(pk=job_id).update(status="succeeded", steps_done=1, steps_total=1, finished_at=timezone.now())
    return image


def test_a_passed_picture_is_given_with_its_url_and_key(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    image = _finished(job_id, safety_verdict=Image.Safety.PASSED)
    body = api_client.get(f"/live/{job_id}").json()
    assert body["status"] == "succeeded" and body["progress"] == 1.0 and body["withheld"] is False
    assert body["image"] == {"url": f"http://testserver/media/{image.key}", "key": image.key, "emotion": "calm"}


@pytest.mark.parametrize("verdict", [Image.Safety.FLAGGED, Image.Safety.UNCHECKED])
def test_a_picture_not_passed_is_withheld_until_a_curator_releases_it(api_client, live_worker, no_enqueue, verdict):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    image = _finished(job_id, safety_verdict=verdict)
    body = api_client.get(f"/live/{job_id}").json()
    assert (body["status"], body["image"], body["withheld"]) == ("succeeded", None, True)
    Image.objects.filter(pk=image.pk).update(safety_released=True)
    assert api_client.get(f"/live/{job_id}").json()["image"]["key"] == image.key


def test_unknown_and_non_live_jobs_are_404(api_client, live_worker, staff_client):
    assert api_client.get(f"/live/{uuid.uuid4()}").status_code == 404
    assert api_client.delete(f"/live/{uuid.uuid4()}").status_code == 404
    malformed = api_client.get("/live/not-a-uuid")
    assert malformed.status_code == 404 and "detail" in malformed.json()
    staff = GenerationJob.objects.create(emotion="calm", prompt="calm", width=64, height=64, steps=1, guidance=0, seed=1, timestr="x")
    assert api_client.get(f"/live/{staff.pk}").status_code == 404  # a staff job is not the kiosk's to read


def test_delete_cancels_and_is_idempotent(api_client, live_worker, no_enqueue):
    job_id = ask(api_client, {"id": "v", "emotion": "calm"}).json()["job"]
    assert api_client.delete(f"/live/{job_id}").status_code == 204
    assert GenerationJob.objects.get(pk=job_id).status == "cancelled"
    assert api_client.delete(f"/live/{job_id}").status_code == 204
    assert api_client.get(f"/live/{job_id}").json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"emotion": "calm"}, "id"),
        ({"id": "v"}, "emotion"),
        ({"id": "v", "emotion": "grumpy"}, "emotion"),
        ({"id": "v", "emotion": "calm/cat"}, "emotion"),  # a favorite kiosks do not paint
        ({"id": "v", "emotion": "calm", "from": "imgPool/calm/img_20260101-000000_0h.jpeg"}, "from"),
        ({"id": "v", "emotion": "calm", "from": "not a key"}, "from"),
        ({"id": "v", "emotion": "calm", "from": 5}, "from"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(api_client, live_worker, no_enqueue, body, field):
    response = ask(api_client, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not GenerationJob.objects.exists()


def test_a_body_that_is_not_an_object_or_too_large(api_client, live_worker, settings):
    assert api_client.post("/live", "[1]", content_type="application/json").status_code == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    assert (
        api_client.post("/live", '{"id": "v", "emotion": "calm", "x": "' + "a" * 200 + '"}', content_type="application/json").status_code
        == 413
    )


def _reason(response) -> str:
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert set(body) == {"detail", "reason"} and body["detail"]
    return body["reason"]


def test_off(api_client, live_worker, settings):
    settings.GARDEN_LIVE_ENABLED = False
    assert _reason(ask(api_client, {"id": "v", "emotion": "calm"})) == "off"


def test_no_live_model_without_a_marked_model_off_the_procedural_default(api_client, live_worker, settings):
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    assert _reason(ask(api_client, {"id": "v", "emotion": "calm"})) == "no_live_model"


def test_no_worker_when_none_serves_the_live_queue_recently(api_client, settings):
    assert _reason(ask(api_client, {"id": "v", "emotion": "calm"})) == "no_worker"
    WorkerPresence.objects.create(name="gpu@test", queues=["default", "gpu"], seen_at=timezone.now())
    assert _reason(ask(api_client, {"id": "v", "emotion": "calm"})) == "no_worker"
    stale = timezone.now() - timezone.timedelta(seconds=settings.GARDEN_LIVE_WORKER_SECONDS + 1)
    WorkerPresence.objects.create(name="live@test", queues=["live"], seen_at=stale)
    assert _reason(ask(api_client, {"id": "v", "emotion": "calm"})) == "no_worker"
    WorkerPresence.objects.filter(name="live@test").update(seen_at=timezone.now())
    assert ask(api_client, {"id": "v", "emotion": "calm"}).status_code == 202


def test_the_503_speaks_the_request_language(api_client, live_worker, settings):
    settings.GARDEN_LIVE_ENABLED = False
    english = ask(api_client, {"id": "v", "emotion": "calm"}).json()["detail"]
    korean = ask(api_client, {"id": "v", "emotion": "calm"}, HTTP_ACCEPT_LANGUAGE="ko").json()["detail"]
    japanese = ask(api_client, {"id": "v", "emotion": "calm"}, HTTP_ACCEPT_LANGUAGE="ja").json()["detail"]
    assert len({english, korean, japanese}) == 3


def test_the_live_rate_throttles_posts_per_kiosk_but_not_polling(api_client, live_worker, no_enqueue, settings):
    settings.GARDEN_LIVE_RATE = "2/minute"
    job_id = ask(api_client, {"id": "a", "emotion": "calm"}).json()["job"]
    assert ask(api_client, {"id": "b", "emotion": "calm"}).status_code == 202
    throttled = ask(api_client, {"id": "c", "emotion": "calm"})
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert ask(api_client, {"id": "c", "emotion": "calm"}, REMOTE_ADDR="10.0.0.2").status_code == 202  # another kiosk
    for _ in range(5):
        assert api_client.get(f"/live/{job_id}").status_code == 200


def test_the_schema_documents_the_live_paths(api_client):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    post = schema["paths"]["/live"]["post"]
    assert {"202", "400", "409", "413", "429", "503"} <= set(post["responses"])
    assert "from" in schema["components"]["schemas"]["LiveRequest"]["properties"]
    job = schema["paths"]["/live/{job_id}"]
    assert job["get"]["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert {"200", "404", "429"} <= set(job["get"]["responses"]) and "204" in job["delete"]["responses"]


def test_an_expected_503_is_not_logged_as_a_server_error(api_client, caplog):
    # A site without a live worker answers no_worker to every visitor: an INFO line, not an ERROR each time.
    with caplog.at_level("INFO"):
        response = ask(api_client, {"id": "v", "emotion": "calm"})
    assert response.status_code == 503 and response["Retry-After"]
    assert not [record for record in caplog.records if record.name == "django.request" and record.levelname == "ERROR"]
    assert any(record.name == "config.api" and "no worker" in record.getMessage().lower() for record in caplog.records)
