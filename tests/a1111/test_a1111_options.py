"""``/sdapi/v1/options`` (GET: the health probe from worker presence, no broker; POST: A1111's
set_config), worker presence itself, trusted clients without credentials, and the detect alias."""

import base64
import json
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from a1111.auth import SERVICE_USER
from generation.dispatch.beacon import PresenceBeacon, record_presence, remove_presence
from generation.models import GenerationJob, WorkerPresence
from tests.retouch.retouch_support import encoded, mask_png, noise

pytestmark = pytest.mark.django_db


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def basic_client(django_user_model):
    django_user_model.objects.create_user("a1111", password="pw-a1111-secret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + b64(b"a1111:pw-a1111-secret"))
    return client


@pytest.fixture
def no_broker(monkeypatch, settings):
    """A broker that cannot be reached, and any attempt to ask the workers through it is a failure."""
    from config.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    calls = []

    def inspect(*args, **kwargs):
        calls.append((args, kwargs))
        raise AssertionError("the health probe asked the broker")

    monkeypatch.setattr(app.control, "inspect", inspect)
    return calls


def gpu_worker(settings, name="gpu@box", seen_ago: float = 0.0) -> WorkerPresence:
    row = record_presence(name=name, queues=[settings.GARDEN_GPU_QUEUE, "celery"], details={"pid": 1})
    WorkerPresence.objects.filter(pk=row.pk).update(seen_at=timezone.now() - timedelta(seconds=seen_ago))
    return row


def test_options_answers_from_presence_without_the_broker(basic_client, retouch_settings, no_broker, settings):
    gpu_worker(settings)
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["sd_model_checkpoint"] == "tiny-sd"  # GARDEN_DIFFUSION_MODEL's folder (no inpaint model, no library)
    assert (answer["samples_format"], answer["CLIP_stop_at_last_layers"], answer["sd_vae"]) == ("png", 1, "Automatic")
    # Never the broker (no_broker fails any inspect): no timing bound, which a loaded machine breaks.
    assert answer["gpu_worker_count"] == 1 and "gpu@box" not in response.content.decode() and no_broker == []


def test_options_is_503_with_retry_after_when_no_gpu_worker_is_present(basic_client, retouch_settings, no_broker, settings):
    settings.GARDEN_WORKER_PRESENCE_SECONDS = 10.0
    record_presence(name="cpu@box", queues=["celery"])  # present, but not on the GPU queue
    gpu_worker(settings, name="gone@box", seen_ago=31)  # unseen for more than 3 beats
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert settings.GARDEN_GPU_QUEUE in response.json()["detail"] and no_broker == []
    gpu_worker(settings, name="gone@box", seen_ago=25)  # within 3 beats: present
    assert basic_client.get("/sdapi/v1/options").status_code == 200
    remove_presence(name="gone@box")  # a clean shutdown: gone at once
    assert basic_client.get("/sdapi/v1/options").status_code == 503


def test_while_the_demo_paints_options_answers_and_names_the_demos_painter(basic_client, retouch_settings, settings):
    retouch_settings.GARDEN_GENERATOR_BACKEND = "procedural"
    record_presence(name="cpu@box", queues=["celery"])  # make run's worker: not on the GPU queue
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 200, response.content  # txt2img paints procedurally: the probe says so
    answer = response.json()
    assert answer["sd_model_checkpoint"] == "procedural-painter-v1"  # the name its jobs and infotext carry
    assert "From the demo to a real model" in answer["sd_model_checkpoint_note"]
    models = basic_client.get("/sdapi/v1/sd-models").json()
    assert [model["title"] for model in models] == ["procedural-painter-v1"]  # never sd-turbo, which is not installed
    for name in ("procedural-painter-v1", "procedural-demo"):  # its name, and the one sd-models gave before
        assert basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": name}, format="json").status_code == 200
    refused = basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": "sd-turbo"}, format="json")
    assert refused.status_code == 400 and "procedural-painter-v1" in refused.json()["sd_model_checkpoint"][0]
    # Retouching still needs a diffusion model, and says which setting.
    body = {"init_images": [b64(encoded(noise(64, 64)))], "prompt": "x", "width": 64, "height": 64}
    retouch = basic_client.post("/sdapi/v1/img2img", body, format="json")
    assert retouch.status_code == 503 and "GARDEN_RETOUCH_INPAINT_MODEL" in retouch.json()["detail"]


def test_while_the_demo_paints_options_is_503_without_any_worker(basic_client, retouch_settings, settings):
    retouch_settings.GARDEN_GENERATOR_BACKEND = "procedural"
    response = basic_client.get("/sdapi/v1/options")
    assert response.status_code == 503 and response["Retry-After"]


def beacon_row(name: str):
    """The presence row, or None; read again while SQLite's shared test database answers "table is
    locked" because the beacon's thread is writing (PostgreSQL readers never wait on writers)."""
    for _ in range(50):
        try:
            return WorkerPresence.objects.filter(name=name).first()
        except OperationalError:
            time.sleep(0.02)
    return WorkerPresence.objects.filter(name=name).first()


@pytest.mark.django_db(transaction=True)
def test_presence_beacon_writes_every_beat_and_removes_its_row_on_stop(settings):
    settings.GARDEN_GPU_QUEUE = "gpu"
    beacon = PresenceBeacon(name="gpu@beacon", queues=["gpu"], interval=0.1)
    beacon.start()
    try:
        deadline = time.monotonic() + 10
        while beacon_row("gpu@beacon") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first = beacon_row("gpu@beacon")
        assert first.gpu and first.queues == ["gpu"]
        while beacon_row("gpu@beacon").seen_at == first.seen_at and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beacon_row("gpu@beacon").seen_at > first.seen_at  # it beats again
    finally:
        beacon.stop()
    assert not WorkerPresence.objects.filter(name="gpu@beacon").exists()


def test_the_worker_bootstep_runs_the_beacon(settings, monkeypatch):
    from celery.concurrency import prefork

    from generation.worker.start import PresenceStep

    started, stopped = [], []
    monkeypatch.setattr(PresenceBeacon, "start", lambda self: started.append((self.name, self.queues)))
    monkeypatch.setattr(PresenceBeacon, "stop", lambda self: stopped.append(self.name))
    settings.CELERY_TASK_ALWAYS_EAGER = False

    class Worker:
        hostname = "gpu@host"
        concurrency = 1
        pool_cls = prefork.TaskPool  # the pool tells the beacon whether this process paints

        class app:  # noqa: N801 (the shape of a Celery app the step reads)
            class amqp:  # noqa: N801
                class queues:  # noqa: N801
                    consume_from = {"gpu": object()}

    step = PresenceStep(Worker)
    step.start(Worker)
    assert step.beacon.paints_here is False  # a prefork worker's children paint, not its main process
    step.stop(Worker)
    assert started == [("gpu@host", ["gpu"])] and stopped == ["gpu@host"]


# --- POST /sdapi/v1/options ---------------------------------------------------------------------------


def test_options_post_answers_null_and_ignores_cosmetic_settings(basic_client, retouch_settings):
    response = basic_client.post(
        "/sdapi/v1/options", {"samples_save": True, "outdir_samples": "/tmp/x", "show_progressbar": False}, format="json"
    )
    assert response.status_code == 200 and response.content == b"null"
    same_model = basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": "tiny-sd [0123abcd]"}, format="json")
    assert same_model.status_code == 200, same_model.content


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"sd_model_checkpoint": "sdxl-base"}, "sd_model_checkpoint"),
        ({"CLIP_stop_at_last_layers": 13}, "CLIP_stop_at_last_layers"),
        ({"sd_vae": "vae-ft-mse-840000.safetensors"}, "sd_vae"),
        ({"eta_noise_seed_delta": 31337}, "eta_noise_seed_delta"),
        ({"samples_format": "jpg"}, "samples_format"),
    ],
)
def test_options_post_refuses_what_would_change_pictures_by_name(basic_client, retouch_settings, values, field):
    response = basic_client.post("/sdapi/v1/options", values, format="json")
    assert response.status_code == 400 and field in response.json()


def test_options_post_sets_the_callers_model_never_the_venues(basic_client, retouch_settings, settings, tmp_path, django_user_model):
    from infra.client_keys import issue
    from infra.models import ClientKey
    from library.models import LibraryEntry

    gpu_worker(settings)
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    for name, default in (("sd15", True), ("dreamshaper", False)):
        (tmp_path / name).mkdir()  # a model whose folder is gone cannot be chosen
        LibraryEntry.objects.create(kind="pipeline", name=name, path=name, is_default=default)
    response = basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": "dreamshaper [deadbeef]"}, format="json")
    assert response.status_code == 200, response.content
    assert LibraryEntry.objects.get(is_default=True).name == "sd15"  # the venue's default is the admin's
    assert basic_client.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == "dreamshaper"  # the caller's
    # Another caller (a client key of the same user: its own identity) still sees the venue's default.
    user = django_user_model.objects.get(username="a1111")
    secret = issue(ClientKey(user=user, name="GIMP"), by=user)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert other.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == "sd15"
    assert basic_client.post("/sdapi/v1/options", {"sd_model_checkpoint": "nope"}, format="json").status_code == 400


# --- trusted clients ----------------------------------------------------------------------------------


def test_trusted_clients_call_without_credentials_only_when_listed(retouch_settings, settings):
    gpu_worker(settings)
    anonymous = APIClient()  # REMOTE_ADDR 127.0.0.1
    response = anonymous.get("/sdapi/v1/options")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")  # off by default
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    assert anonymous.get("/sdapi/v1/options").status_code == 200
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["10.0.0.0/8"]
    assert anonymous.get("/sdapi/v1/options").status_code == 401
    assert anonymous.get("/sdapi/v1/options", REMOTE_ADDR="10.20.30.40").status_code == 200
    # Behind one trusted proxy the client is the address it reported, not the proxy's.
    settings.GARDEN_TRUSTED_PROXIES = 1
    assert anonymous.get("/sdapi/v1/options", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    assert anonymous.get("/sdapi/v1/options", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.168.1.9").status_code == 401
    # Credentials still count from a trusted address: wrong ones are a 401, not the service user.
    wrong = anonymous.get("/sdapi/v1/options", REMOTE_ADDR="10.0.0.2", HTTP_AUTHORIZATION="Basic " + b64(b"a1111:wrong"))
    assert wrong.status_code == 401


def test_the_trusted_service_user_has_no_other_rights(retouch_settings, settings, no_enqueue, django_user_model):
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1/32"]
    settings.GARDEN_A1111_WAIT_SECONDS = 0
    client = APIClient()
    body = {"init_images": [b64(encoded(noise()))], "mask": b64(mask_png()), "steps": 4, "width": 64, "height": 64}
    response = client.post("/sdapi/v1/img2img", body, format="json")
    assert response.status_code == 504, response.content  # created (nothing runs it here)
    user = GenerationJob.objects.get().created_by
    assert user.username == SERVICE_USER and not user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert client.get("/api/v1/jobs").status_code in (401, 403)  # the job API is not an A1111 endpoint
    assert client.get("/admin/").status_code == 302


def test_controlnet_detect_takes_webuiapis_controlnet_images(basic_client):
    body = {"controlnet_module": "canny", "controlnet_images": [b64(encoded(noise()))], "controlnet_processor_res": 64}
    response = basic_client.post("/controlnet/detect", body, format="json")
    assert response.status_code == 200, response.content
    original = basic_client.post(
        "/controlnet/detect", {**body, "controlnet_input_images": body.pop("controlnet_images")}, format="json"
    ).json()
    assert response.json()["images"] == original["images"]
    missing = basic_client.post("/controlnet/detect", {"controlnet_module": "canny"}, format="json")
    assert missing.status_code == 400 and "controlnet_input_images" in json.dumps(missing.json())


def test_setting_options_without_a_body_is_a_400(basic_client):
    response = basic_client.post("/sdapi/v1/options")
    assert response.status_code == 400 and "JSON object" in response.json()["detail"]


def test_options_keep_the_clip_skip_clients_set(basic_client, retouch_settings, settings, no_broker):
    """A1111 keeps CLIP_stop_at_last_layers: 2 from POST /options; GET answers it and calls paint with it."""
    gpu_worker(settings)
    assert basic_client.post("/sdapi/v1/options", {"CLIP_stop_at_last_layers": 2}, format="json").status_code == 200
    assert basic_client.get("/sdapi/v1/options").json()["CLIP_stop_at_last_layers"] == 2
    from a1111 import fields

    assert fields.override_settings({}) == (2, "")  # img2img's CLIP skip without an override
    assert fields.override_settings({"override_settings": {"CLIP_stop_at_last_layers": 1}}) == (1, "")
