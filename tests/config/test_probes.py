"""/healthz, /readyz and /metrics: what an orchestrator and a scraper see, on real parts."""

from __future__ import annotations

import json
import threading
import time

import pytest

from config import health
from testkit.local_services import reachable

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
LIVE_REDIS = "redis://127.0.0.1:6379/12"

needs_redis = pytest.mark.skipif(not reachable(LIVE_REDIS), reason="needs the local Redis")


def _redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}}


def test_healthz_answers_any_host_over_plain_http(client, settings):
    """Probes address the container by IP over plain HTTP: no DisallowedHost, no TLS redirect."""
    settings.ALLOWED_HOSTS = ["garden.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    # The rest of the site keeps both protections.
    assert client.get("/gardenfromDB", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_probes_refuse_writes(client):
    response = client.post("/readyz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db(transaction=True)
def test_readyz_is_200_with_every_part_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "storage"}
    for part in body["checks"].values():
        assert part["status"] == "ok"
        assert part["required"] is True
        assert part["ms"] >= 0


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_readyz_turns_503_when_the_cache_goes_and_200_when_it_is_back(client, settings):
    settings.CACHES = _redis_cache(DEAD_REDIS)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == {"status": "down", "ms": body["checks"]["cache"]["ms"], "required": True, "detail": "unreachable"}
    assert body["checks"]["database"]["status"] == "ok"
    # Nothing about where the cache is, or why, reaches the client.
    assert "127.0.0.1" not in response.content.decode() and "6379" not in response.content.decode()

    settings.CACHES = _redis_cache(LIVE_REDIS)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_part_left_out_of_the_required_list_is_reported_but_does_not_fail_readiness(client, settings):
    settings.CELERY_BROKER_URL = DEAD_REDIS
    settings.GARDEN_READY_REQUIRED = ["database", "cache", "storage"]
    response = client.get("/readyz")
    assert response.status_code == 200
    broker = response.json()["checks"]["broker"]
    assert (broker["status"], broker["required"], broker["detail"]) == ("down", False, "unreachable")

    settings.GARDEN_READY_REQUIRED = ["database", "cache", "broker", "storage"]
    assert client.get("/readyz").status_code == 503


@pytest.mark.django_db(transaction=True)
def test_a_media_folder_that_cannot_be_made_makes_storage_down(client, settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "a-file" / "media")}},
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["status"] == "down"


@pytest.mark.django_db(transaction=True)
def test_a_fresh_volume_without_a_media_folder_is_ready(client, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "new")}},
    }
    assert client.get("/readyz").status_code == 200


def test_a_hanging_check_is_cut_at_the_timeout_and_not_started_twice(settings):
    settings.GARDEN_READY_TIMEOUT = 0.2
    release = threading.Event()
    calls = []

    def hangs():
        calls.append(1)
        release.wait(10)

    checks = {"database": lambda: None, "broker": hangs}
    try:
        started = time.monotonic()
        first = {part.name: part for part in health.readiness(checks)}
        assert time.monotonic() - started < 2
        assert first["database"].ok and not first["broker"].ok
        assert first["broker"].detail == "timed out"
        second = {part.name: part for part in health.readiness(checks)}
        assert not second["broker"].ok and second["broker"].detail == "timed out"
        assert len(calls) == 1  # the hanging check was not started again
    finally:
        release.set()
    for _ in range(50):  # once it returns, the next probe checks that part again
        if "broker" not in health._hanging:
            break
        time.sleep(0.05)
    third = {part.name: part for part in health.readiness(checks)}
    assert len(calls) == 2
    assert third["database"].ok


# --- /metrics ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_refused_to_other_addresses_and_open_to_a_token(client, settings):
    settings.GARDEN_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    settings.GARDEN_METRICS_ALLOWED_IPS = ["10.9.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200
    settings.GARDEN_METRICS_TOKEN = ""  # no token: a bearer header opens nothing
    settings.GARDEN_METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return 0.0


@pytest.mark.django_db(transaction=True)
def test_metrics_count_kiosk_traffic_and_jobs(client):
    from generation.services import JobRequest, create_job
    from generation.worker.runner import execute_job
    from tests.factories import ImageFactory

    before = client.get("/metrics").content.decode()
    image = ImageFactory(emotion="happy", favorite="spring")
    body = json.dumps({"emotion": "happy/spring"})
    for _ in range(3):
        assert client.post("/gardenfromDB", body, content_type="application/json").status_code == 200
    like = {"id": "visitor-m", "itemId": image.key, "impression": [image.key]}
    assert client.post("/like", json.dumps(like), content_type="application/json").status_code == 200
    assert client.post("/gardenfromDB", "{", content_type="application/json").status_code == 400
    job = create_job(request=JobRequest(emotion="calm", width=64, height=64, count=2, backend="procedural", seed=1), enqueue=False)
    execute_job(job_id=job.pk, worker="gpu-worker@test")

    text = client.get("/metrics").content.decode()

    def grew(name: str, **labels: str) -> float:
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert grew("garden_http_requests_total", view="garden-from-db", method="POST", status="200") == 3
    assert grew("garden_http_requests_total", view="garden-from-db", method="POST", status="400") == 1
    assert grew("garden_http_request_duration_seconds_count", view="garden-from-db") == 4
    assert grew("garden_kiosk_events_total", type="garden_from_db") == 3
    assert grew("garden_kiosk_events_total", type="like") == 1
    assert _sample(text, "garden_jobs", status="succeeded", kind="images") == 1
    assert _sample(text, "garden_job_duration_seconds_count", backend="procedural") == 1
    assert _sample(text, "garden_image_duration_seconds_count", backend="procedural") == 2
    assert _sample(text, "garden_workers_seen", queue="default") == 1  # the painter runs on the default queue
    assert _sample(text, "garden_workers_seen", queue="gpu") == 0
    assert _sample(text, "garden_jobs_queued", queue="gpu") == 0
    assert _sample(text, "garden_broker_up") == 1


@pytest.mark.slow
def test_metrics_add_up_every_gunicorn_worker_in_multiprocess_mode(tmp_path):
    """Two workers answer the traffic; any one of them answers the scrape with the sum."""
    from testkit.servers import gunicorn

    folder = tmp_path / "prometheus"
    folder.mkdir()
    # The API and /metrics only: no static file is served, so the compressed copies are not made.
    with gunicorn(tmp_path / "var", workers=2, threads=2, compress_static=False, PROMETHEUS_MULTIPROC_DIR=str(folder)) as server:
        body = json.dumps({"emotion": "happy/spring"}).encode()
        for _ in range(20):
            assert server.call("/gardenfromDB", body)[0] == 200
        import urllib.request

        scrapes = []
        for _ in range(4):  # whichever worker answers, it reports all twenty
            with urllib.request.urlopen(server.base + "/metrics", timeout=10) as response:
                scrapes.append(_sample(response.read().decode(), "garden_http_requests_total", view="garden-from-db", status="200"))
    assert scrapes == [20.0] * 4
    assert list(folder.glob("counter_*.db"))  # the counts went through the shared folder
