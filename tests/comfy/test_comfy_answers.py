"""Uploads bounded by count and age, as history is; and no answer of the door, on any route, good or
refused, names a server path or the host (the pictures' and models' own names only)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from django.conf import settings

from comfy import services
from infra.client_keys import issue
from infra.models import ClientKey
from retouch.uploads import upload_storage
from testkit import comfy_workflows as workflows
from tests.comfy.door_support import call, serving
from tests.comfy.test_comfy_door import checkpoint, multipart, png

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def door(retouch_settings, no_enqueue, tmp_path):
    retouch_settings.STORAGES = {**settings.STORAGES, "retouch": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                                  "OPTIONS": {"location": str(tmp_path / "private")}}}  # fmt: skip
    with serving() as base:
        yield base


@pytest.fixture
def bearer(django_user_model):
    user = django_user_model.objects.create_user("uploader", is_staff=True)
    return {"Authorization": f"Bearer {issue(ClientKey(user=user, name='uploads'), by=user)}"}


def upload(base: str, headers: dict, name: str) -> dict:
    body, content_type = multipart(name, png())
    status, _, answer = call(base, "POST", "/upload/image", body, {**headers, "Content-Type": content_type})
    assert status == 200, answer
    return answer


def loads(base: str, headers: dict, name: str) -> bool:
    """Whether a LoadImage of ``name`` finds the caller's upload (400 on LoadImage when it does not)."""
    graph = workflows.swarm_img2img(image=name, model=checkpoint(base, headers))
    status, _, answer = call(base, "POST", "/prompt", {"prompt": graph}, headers)
    return status == 200 or "10" not in answer.get("node_errors", {})


def test_uploads_are_bounded_by_count_and_age(door, bearer, retouch_settings):
    retouch_settings.GARDEN_COMFY_UPLOADS_KEPT = 2
    for name in ("a.png", "b.png", "c.png"):
        upload(door, bearer, name)
        time.sleep(0.05)  # distinct modification times
    assert [loads(door, bearer, name) for name in ("a.png", "b.png", "c.png")] == [False, True, True]
    # Past GARDEN_COMFY_UPLOAD_HOURS, the door's purge (and the next upload's) deletes it.
    storage = upload_storage()
    (folder,) = storage.listdir(services.UPLOADS)[0]
    old = Path(storage.path(f"{services.UPLOADS}/{folder}/b.png"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert services.purge_uploads() == 1
    assert not old.exists() and loads(door, bearer, "c.png")


def answers_of(base: str, headers: dict) -> list:
    """Every route's answer, and refusals of each kind: the bodies and the headers."""
    model = checkpoint(base, headers)
    name = upload(base, headers, "source.png")["name"]
    good = workflows.open_webui(prompt="a fern", model=model, width=64, height=64, steps=2, seed=1)
    refused = [
        {**good, "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "/models/nope.safetensors"}}},
        workflows.swarm_upscale(model=model, method="model-4x-NoSuch.pth"),
        workflows.with_controlnet(good, model="control_v11p_sd15_canny.pth", image=name),
        workflows.swarm_img2img(image="../../etc/passwd", model=model),
        {**good, "30": {"class_type": "SwarmKSampler", "inputs": {}}},
    ]
    calls = [
        ("GET", path, None)
        for path in (
            "/system_stats",
            "/object_info",
            "/embeddings",
            "/extensions",
            "/features",
            "/prompt",
            "/history",
            "/queue",
            "/view?filename=ComfyUI_00001_00_.png",
            "/view?filename=../x.png",
        )
    ]
    calls += [("POST", "/prompt", {"prompt": graph}) for graph in [good, *refused]]
    expected = [200] * 8 + [404, 404, 200, *[400] * len(refused), 400, 400, 200, 200, 200]
    calls += [("POST", "/prompt", "not json"), ("POST", "/upload/image", b"not a form"), ("POST", "/interrupt", {}),
              ("POST", "/queue", {"clear": True}), ("POST", "/history", {"clear": True})]  # fmt: skip
    found = []
    for (method, path, body), wanted in zip(calls, expected, strict=True):
        status, answer_headers, answer = call(base, method, path, body, headers)
        assert status == wanted, (path, answer)
        found.append((path, status, answer, answer_headers))
    status, answer_headers, answer = call(base, "GET", "/object_info", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    found.append(("/object_info (refused)", status, answer, answer_headers))
    return found


def test_no_answer_names_a_server_path_or_the_host(door, bearer, retouch_settings, retouch_models, tiny_model_dir):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    secrets = {
        str(Path(settings.BASE_DIR)),
        str(tiny_model_dir),
        str(retouch_models["lineart"]),
        str(Path(upload_storage().location)),
        str(settings.MEDIA_ROOT),
        socket.gethostname(),
        socket.getfqdn(),
        "/tmp/",
    }
    for path, status, answer, headers in answers_of(door, bearer):
        shown = f"{answer!r} {headers!r}"
        leaked = [secret for secret in secrets if secret and secret in shown]
        assert not leaked, (path, status, leaked, shown[:2000])
