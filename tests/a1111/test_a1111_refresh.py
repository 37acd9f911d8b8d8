"""``POST /sdapi/v1/refresh-checkpoints``: a worker rescans the models folder and the request waits
for it (A1111's clients list the models next); a web process never scans (docs/models.md)."""

import base64
import time

import pytest
from rest_framework.test import APIClient

from library.models import LibraryEntry, LibraryScan
from library.services import follow as library_follow
from tests.library.test_library_follow import write_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def basic_client(django_user_model):
    django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"a1111:pw-a1111-secret").decode())
    return client


@pytest.fixture
def models(settings, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    settings.GARDEN_MODELS_DIR = str(root)
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    return root


@pytest.fixture
def queued_scans(monkeypatch):
    """The scan task's messages, kept instead of sent: no worker takes them."""
    from config.celery import app

    sent = []
    monkeypatch.setattr(app.tasks[library_follow.SCAN_TASK], "apply_async", lambda *a, **k: sent.append((a, k)))
    return sent


def test_a_refresh_is_answered_once_a_worker_has_scanned(models, basic_client, eager_celery):
    write_checkpoint(models / "fresh.safetensors")

    response = basic_client.post("/sdapi/v1/refresh-checkpoints")

    assert response.status_code == 200 and response.content == b"null"
    scan = LibraryScan.objects.get()
    assert (scan.trigger, scan.state, scan.added) == ("a1111", LibraryScan.State.DONE, ["fresh"])
    assert [model["model_name"] for model in basic_client.get("/sdapi/v1/sd-models").json()] == ["fresh"]


def test_a_refresh_no_worker_takes_in_time_is_left_queued_and_nothing_is_scanned_in_the_web_process(
    models, basic_client, settings, queued_scans
):
    settings.GARDEN_A1111_REFRESH_SECONDS = 0.3
    write_checkpoint(models / "fresh.safetensors")

    started = time.monotonic()
    response = basic_client.post("/sdapi/v1/refresh-checkpoints")

    assert response.status_code == 200 and response.content == b"null"
    assert time.monotonic() - started >= 0.3  # it waited for a worker
    assert len(queued_scans) == 1 and queued_scans[0][1]["queue"] == "default"
    assert LibraryScan.objects.get().state == LibraryScan.State.QUEUED  # a worker runs it when free
    assert not LibraryEntry.objects.exists()  # this process read the folder for nothing


def test_a_refresh_whose_scan_cannot_be_queued_is_a_503_with_retry_after(models, basic_client, monkeypatch):
    from config.celery import app

    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(app.tasks[library_follow.SCAN_TASK], "apply_async", broker_down)

    response = basic_client.post("/sdapi/v1/refresh-checkpoints")

    assert response.status_code == 503 and int(response["Retry-After"]) >= 1
    assert response.json()["detail"].startswith("The model library was not rescanned: could not queue the scan: OSError")
    assert LibraryScan.objects.get().state == LibraryScan.State.FAILED


def test_without_a_library_a_refresh_queues_nothing(basic_client, settings, queued_scans):
    settings.GARDEN_MODELS_DIR = ""

    response = basic_client.post("/sdapi/v1/refresh-checkpoints")

    assert response.status_code == 200 and response.content == b"null"
    assert not queued_scans and not LibraryScan.objects.exists()
