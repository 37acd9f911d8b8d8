"""POST /text2image and /api/v1/jobs: auth, validation, the legacy envelope, the job API."""

import json

import pytest
from rest_framework.authtoken.models import Token

from generation.models import GenerationJob
from generation.worker import runner

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), [("post", "/text2image"), ("post", "/api/v1/jobs"), ("get", "/api/v1/jobs")])
def test_anonymous_calls_are_refused(api_client, method, path):
    response = getattr(api_client, method)(path, {"text": "x", "emotion": "calm"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert not GenerationJob.objects.exists()


def test_a_session_without_staff_is_forbidden(api_client, django_user_model):
    api_client.force_login(django_user_model.objects.create_user("visitor"))
    assert api_client.post("/api/v1/jobs", {"emotion": "calm"}, format="json").status_code == 403
    assert api_client.post("/text2image", {"text": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"text": "garden", "width": 770, "height": 512},
        {"text": "garden", "width": 768, "height": 4096},
        {"text": "garden", "width": 0, "height": 512},
        {"text": "garden", "width": "wide", "height": 512},
        {"text": "", "width": 768, "height": 512},
        {"width": 768},
        {"text": "garden", "count": 1000},
        {"text": "garden", "emotion": "grumpy"},
    ],
)
def test_text2image_validates_with_clear_400s(token_client, body, no_enqueue):
    response = token_client.post("/text2image", body, format="json")
    assert response.status_code == 400, response.content
    assert not GenerationJob.objects.exists()


def test_text2image_malformed_json_is_a_400(token_client):
    response = token_client.generic("POST", "/text2image", b"{not json", content_type="text/plain")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"emotion": "calm", "width": 100}, "width"),
        ({"emotion": "calm", "height": 2000}, "height"),
        ({"emotion": "calm", "steps": 0}, "steps"),
        ({"emotion": "calm", "steps": 10_000}, "steps"),
        ({"emotion": "calm", "count": 0}, "count"),
        ({"emotion": "calm", "guidance": -1}, "guidance"),
        ({"emotion": "calm", "seed": -5}, "seed"),
        ({"prompt": ""}, "emotion"),
        ({"emotion": "calm", "backend": "dalle"}, "backend"),
        ({"kind": "bulk", "emotion": "calm", "width": 1536, "height": 1600}, "height"),
    ],
)
def test_job_api_validates_with_clear_400s(token_client, body, field):
    response = token_client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())


def test_text2image_answers_202_with_the_job_when_it_is_not_done_in_time(token_client, settings, no_enqueue):
    settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS = 0.1
    response = token_client.post("/text2image", {"text": "astronaut on a horse", "width": 768, "height": 512}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert "body" not in body  # never URLs of images that do not exist
    job = GenerationJob.objects.get(pk=body["jobId"])
    assert body["statusUrl"].endswith(f"/api/v1/jobs/{job.pk}") and response["Location"] == body["statusUrl"]
    assert (job.prompt, job.width, job.height, job.emotion, job.created_by) == ("astronaut on a horse", 768, 512, "calm", token_client.user)


@pytest.mark.django_db(transaction=True)
def test_text2image_returns_the_legacy_envelope_once_the_images_exist(token_client, diffusers_settings, eager_celery):
    response = token_client.post("/text2image", {"text": "a calm garden", "width": 64, "height": 64}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["statusCode"] == 200 and isinstance(body["time"], int)
    urls = json.loads(body["body"])
    job = GenerationJob.objects.get(pk=body["jobId"])
    assert job.status == "succeeded" and len(urls) == 1
    key = job.images.get().key
    assert urls[0] == f"http://testserver/media/{key}" and key.startswith("imgPool/calm/")
    from django.core.files.storage import default_storage

    assert default_storage.exists(key)


@pytest.mark.django_db(transaction=True)
def test_text2image_reports_a_failed_job(token_client, diffusers_settings, eager_celery, tmp_path):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(tmp_path / "missing")
    response = token_client.post("/text2image", {"text": "garden", "width": 64, "height": 64}, format="json")
    assert response.status_code == 503
    assert response.json()["status"] == "failed" and "GARDEN_DIFFUSION_MODEL" in response.json()["error"]


def test_job_api_create_status_and_queue_position(token_client, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = token_client.post(
            "/api/v1/jobs", {"emotion": "happy/spring,sunny,day", "kind": "bulk", "count": 2, "seed": 9}, format="json"
        )
        second = token_client.post("/api/v1/jobs", {"prompt": "glass flowers", "width": 768, "height": 512}, format="json")
    assert first.status_code == second.status_code == 202
    one, two = first.json(), second.json()
    assert (one["status"], one["queue_position"], two["queue_position"]) == ("queued", 1, 2)
    assert (one["images_total"], one["width"], one["height"], one["favorite"], one["seed"]) == (4, 1280, 800, "spring,sunny,day", 9)
    assert [job_id for job_id, _ in no_enqueue] == [one["id"], two["id"]]
    detail = token_client.get(f"/api/v1/jobs/{one['id']}").json()
    assert (detail["progress"], detail["images"], detail["created_by"]) == (0.0, [], "kiosk-operator")


def test_job_api_result_lists_keys_and_absolute_urls(token_client, settings, no_enqueue):
    job_id = token_client.post(
        "/api/v1/jobs", {"emotion": "sad", "backend": "procedural", "width": 96, "height": 64, "count": 2}, format="json"
    ).json()["id"]
    runner.execute_job(job_id=job_id)
    body = token_client.get(f"/api/v1/jobs/{job_id}").json()
    assert (body["status"], body["progress"], body["queue_position"]) == ("succeeded", 1.0, None)
    assert [image["key"].rsplit("_", 1)[1] for image in body["images"]] == ["0h.jpeg", "1h.jpeg"]
    for image in body["images"]:
        assert image["url"] == f"http://testserver/media/{image['key']}"


def test_cancel_is_idempotent_and_only_for_my_jobs(token_client, api_client, django_user_model, no_enqueue):
    job_id = token_client.post("/api/v1/jobs", {"emotion": "calm"}, format="json").json()["id"]
    for _ in range(2):
        response = token_client.post(f"/api/v1/jobs/{job_id}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
    stranger = django_user_model.objects.create_user("stranger")
    other = type(token_client)()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=stranger).key}")
    assert other.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert other.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 404
    assert other.get("/api/v1/jobs").json()["results"] == []
    retried = token_client.post(f"/api/v1/jobs/{job_id}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    assert token_client.post(f"/api/v1/jobs/{job_id}/retry").status_code == 409


def test_list_filters_and_staff_see_everything(token_client, staff_client, no_enqueue):
    token_client.post("/api/v1/jobs", {"emotion": "calm", "backend": "diffusers"}, format="json")
    token_client.post("/api/v1/jobs", {"emotion": "sad", "backend": "procedural"}, format="json")
    staff_client.post("/api/v1/jobs", {"emotion": "happy"}, format="json")
    everything = staff_client.get("/api/v1/jobs").json()
    assert everything["count"] == 3
    assert [job["emotion"] for job in staff_client.get("/api/v1/jobs?mine=true").json()["results"]] == ["happy"]
    assert [job["emotion"] for job in token_client.get("/api/v1/jobs?backend=procedural").json()["results"]] == ["sad"]
    assert token_client.get("/api/v1/jobs?status=succeeded").json()["count"] == 0
    assert len(token_client.get("/api/v1/jobs?limit=1").json()["results"]) == 1


def test_the_schema_documents_the_generation_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    retouch = (
        "/api/v1/retouch/status",
        "/api/v1/retouch/edges",
        "/api/v1/retouch/tags",
        "/api/v1/jobs/{job_id}/archive",
        "/sdapi/v1/img2img",
    )
    for path in ("/text2image", "/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/cancel", *retouch):
        assert path in schema["paths"]
    assert "202" in schema["paths"]["/api/v1/jobs"]["post"]["responses"]


def test_the_web_tier_never_imports_torch():
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup();"
        "import generation.views, generation.tasks, generation.services, generation.serializers, generation.urls;"
        "import retouch.views, a1111.views, retouch.tagger, retouch.pages, generation.pages;"
        # The retouch web tier runs the edge detectors itself: numpy + Pillow (+ scipy), never torch.
        "from PIL import Image; from retouch.services import edge_map_png;"
        "[edge_map_png(picture=Image.new('RGB', (64, 48)), detector=name) for name in ('lineart', 'canny')];"
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr
