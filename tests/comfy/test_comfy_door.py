"""The door's routes with the clients' own request shapes (testkit/comfy_workflows.py cites each
source), on the real aiohttp server on a free port, a tiny real model painting the jobs."""

from __future__ import annotations

import base64
import io
import time
import urllib.parse
import uuid

import pytest
from django.urls import reverse
from PIL import Image

from comfy.models import ComfyPrompt
from curation.selectors import review_queryset
from generation.models import GenerationJob
from generation.worker import lifecycle
from infra.client_keys import issue
from infra.models import ClientKey
from testkit import comfy_workflows as workflows
from tests.comfy.door_support import Socket, call, paint, serving

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def door(diffusers_settings, no_enqueue):
    with serving() as base:
        yield base


@pytest.fixture
def bearer(django_user_model):
    user = django_user_model.objects.create_user("open-webui-admin", is_staff=True)
    return {"Authorization": f"Bearer {issue(ClientKey(user=user, name='open-webui'), by=user)}"}


def checkpoint(base: str, headers: dict) -> str:
    status, _, info = call(base, "GET", "/object_info/CheckpointLoaderSimple", headers=headers)
    assert status == 200, info
    return info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0][0]


def job_of(prompt_id: str) -> GenerationJob:
    return ComfyPrompt.objects.select_related("job").get(prompt_id=prompt_id).job


def test_open_webui_default_workflow_paints_with_bearer_on_every_call(door, bearer):
    model = checkpoint(door, bearer)
    graph = workflows.open_webui(prompt="a quiet garden at dusk", model=model, width=64, height=64, steps=2, seed=2**50 - 3)
    client_id = uuid.uuid4().hex
    socket = Socket(door.replace("http", "ws") + f"/ws?clientId={client_id}", headers=bearer)
    status, _, answer = call(
        door, "POST", "/api/prompt", {"prompt": graph, "client_id": client_id}, {**bearer, "Content-Type": "application/json"}
    )
    assert status == 200 and answer["node_errors"] == {}, answer
    job = job_of(answer["prompt_id"])
    assert (job.kind, job.width, job.height, job.steps, job.seed, job.prompt) == (
        "images",
        64,
        64,
        2,
        (2**50 - 3) % 2**32,
        "a quiet garden at dusk",
    )

    paint(job.pk)
    events = socket.wait_end()

    kinds = [message["type"] for message in events]
    assert kinds[0] == "status" and events[0]["data"]["sid"] == client_id
    started = kinds.index("execution_start")
    assert kinds[started + 1] == "execution_cached"
    assert kinds[-3:] == ["executed", "execution_success", "executing"], kinds
    assert events[-1]["data"] == {"node": None, "prompt_id": answer["prompt_id"]}
    executing = [m["data"]["node"] for m in events if m["type"] == "executing"][:-1]
    assert executing.index("3") < executing.index("8") < executing.index("9") and set(executing) == set(graph)
    assert socket.binary == 0  # no previews: Krita would take a PNG preview as a result
    status, _, history = call(door, "GET", f"/history/{answer['prompt_id']}", headers=bearer)
    entry = history[answer["prompt_id"]]
    assert entry["status"]["status_str"] == "success" and entry["status"]["completed"]
    (picture,) = entry["outputs"]["9"]["images"]
    query = urllib.parse.urlencode(picture)
    status, headers, content = call(door, "GET", f"/view?{query}", headers=bearer)
    assert status == 200 and headers["Content-Type"].startswith("image/")
    assert Image.open(io.BytesIO(content)).size == (64, 64)
    assert "/" not in str(history).replace("http", "")  # no server path in any answer


def test_the_doors_jobs_say_origin_comfy_in_the_job_list_and_the_admin(door, bearer, client, admin_user):
    graph = workflows.open_webui(prompt="moss on a stone", model=checkpoint(door, bearer), width=64, height=64, steps=2, seed=5)
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 200, answer
    job = job_of(answer["prompt_id"])
    paint(job.pk)
    job.refresh_from_db()
    assert job.options["origin"] == "comfy" and job.images.get().parameters["origin"] == "comfy"
    client.force_login(admin_user)
    listed = client.get(reverse("generation-jobs")).json()
    assert [row["origin"] for row in listed["results"] if row["id"] == str(job.pk)] == ["comfy"]
    changelist = client.get(reverse("admin:generation_generationjob_changelist")).content.decode()
    assert '<td class="field-origin">comfy</td>' in changelist
    # An API client's pictures stay out of the curators' review pool (GARDEN_A1111_REVIEW_POOL), as the A1111 API's do.
    assert not review_queryset().filter(generation_jobs=job).exists()


def test_sillytavern_text_body_without_credentials_from_a_trusted_address(door, settings):
    settings.GARDEN_A1111_TRUSTED_CLIENTS = ["127.0.0.1"]
    assert call(door, "GET", "/system_stats")[0] == 200
    status, _, info = call(door, "GET", "/object_info")
    sampler = info["KSampler"]["input"]["required"]["sampler_name"][0][0]
    scheduler = info["KSampler"]["input"]["required"]["scheduler"][0][0]
    model = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0][0]
    body = workflows.sillytavern(
        seed=2**53 - 1, steps=2, scale=7, sampler=sampler, scheduler=scheduler, model=model,
        width=64, height=64, prompt="lanterns over a pond", negative_prompt="blurry",
    )  # fmt: skip
    status, _, answer = call(door, "POST", "/prompt", body, {"Content-Type": "text/plain;charset=UTF-8"})
    assert status == 200, answer
    assert call(door, "GET", "/history")[2] == {}  # an entry appears only once the prompt is done
    paint(job_of(answer["prompt_id"]).pk)
    deadline = time.monotonic() + 30
    history = {}
    while answer["prompt_id"] not in history and time.monotonic() < deadline:
        time.sleep(0.1)  # SillyTavern's delay(100) between whole-history polls
        history = call(door, "GET", "/history")[2]
    entry = history[answer["prompt_id"]]
    assert entry["status"]["status_str"] == "success"
    picture = entry["outputs"]["9"]["images"][0]
    path = f"/view?filename={picture['filename']}&subfolder={picture['subfolder']}&type={picture['type']}"  # not URL-encoded
    status, headers, _ = call(door, "GET", path)
    assert status == 200 and headers["Content-Type"].startswith("image/")


def test_no_credentials_from_elsewhere_is_a_401_and_a_bare_bearer_counts_as_none(door):
    status, headers, answer = call(door, "GET", "/object_info", headers={"Authorization": "Bearer "})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic") and "error" in answer
    assert call(door, "POST", "/prompt", {"prompt": workflows.OPEN_WEBUI_DEFAULT})[0] == 401


def test_an_unknown_node_and_a_bad_input_are_refused_as_comfyui_refuses_them(door, bearer):
    graph = {**workflows.OPEN_WEBUI_DEFAULT, "30": {"class_type": "ETN_LoadImageBase64", "inputs": {"image": "data:…"}}}
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 400
    assert answer["error"]["type"] == "invalid_prompt" and answer["node_errors"] == {}
    assert answer["error"]["message"] == "Cannot execute because node ETN_LoadImageBase64 does not exist."
    # The literal default names "model.safetensors", which the library does not hold: its node is named.
    status, _, answer = call(door, "POST", "/prompt", {"prompt": workflows.OPEN_WEBUI_DEFAULT}, bearer)
    assert status == 400 and answer["error"]["type"] == "prompt_outputs_failed_validation", answer
    assert answer["node_errors"]["4"]["class_type"] == "CheckpointLoaderSimple"
    assert answer["node_errors"]["4"]["errors"][0]["extra_info"]["input_name"] == "ckpt_name"
    status, _, answer = call(door, "POST", "/prompt", {"no": "prompt"}, bearer)
    assert status == 400 and answer["error"]["type"] == "no_prompt"


def test_queue_delete_and_interrupt_are_the_callers(door, bearer):
    model = checkpoint(door, bearer)
    ids = []
    for seed in (1, 2):
        graph = workflows.open_webui(prompt="a fern", model=model, width=64, height=64, steps=2, seed=seed)
        ids.append(call(door, "POST", "/prompt", {"prompt": graph}, bearer)[2]["prompt_id"])
    _, _, queue = call(door, "GET", "/queue", headers=bearer)
    assert [item[1] for item in queue["queue_pending"]] == ids and queue["queue_running"] == []
    assert call(door, "GET", "/prompt", headers=bearer)[2] == {"exec_info": {"queue_remaining": 2}}

    assert call(door, "POST", "/queue", {"delete": [ids[0]]}, bearer)[0] == 200
    assert job_of(ids[0]).status == GenerationJob.Status.CANCELLED
    assert lifecycle.claim_job(job_id=job_of(ids[1]).pk, worker="test-worker")  # a worker took it, as its task does
    other = {"Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode()}
    assert call(door, "POST", "/interrupt", {}, other)[0] == 401  # another caller cannot stop it
    assert call(door, "POST", "/interrupt", {"prompt_id": ids[1]}, bearer)[0] == 200
    job = job_of(ids[1])
    assert job.cancel_requested or job.status == GenerationJob.Status.CANCELLED


def png(size=(64, 64), colour=(90, 140, 60, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode()
        + content
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput\r\n--{boundary}--\r\n'.encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_swarmui_core_img2img_from_an_upload_is_a_retouch_job(door, bearer, retouch_settings):
    body, content_type = multipart("source.png", png())
    status, _, uploaded = call(door, "POST", "/api/upload/image", body, {**bearer, "Content-Type": content_type})
    assert status == 200 and uploaded == {"name": "source.png", "subfolder": "", "type": "input"}, uploaded
    graph = workflows.swarm_img2img(image=uploaded["name"], model=checkpoint(door, bearer), steps=4, start=2)
    client_id = uuid.uuid4().hex
    socket = Socket(door.replace("http", "ws") + f"/ws?clientId={client_id}", headers=bearer)
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph, "client_id": client_id}, bearer)
    assert status == 200, answer
    job = job_of(answer["prompt_id"])
    assert job.kind == "retouch" and job.retouch_job.options["requested_strength"] == 0.5 and job.options["origin"] == "comfy"
    assert job.options.get("clip_skip") in (None, 2) and job.retouch_job.options.get("clip_skip") == 2
    paint(job.pk)
    kinds = [message["type"] for message in socket.wait_end()]
    assert "progress" in kinds and kinds[-2:] == ["execution_success", "executing"], kinds
    assert [image.parameters["origin"] for image in job.images.all()] == ["comfy"]
    # Another caller's upload name does not resolve to this one's picture.
    stranger = {"Authorization": f"Bearer {issue(ClientKey(user=job.created_by, name='other'), by=job.created_by)}"}
    status, _, refused = call(door, "POST", "/prompt", {"prompt": graph}, stranger)
    assert status == 400 and refused["node_errors"]["10"]["class_type"] == "LoadImage", refused
