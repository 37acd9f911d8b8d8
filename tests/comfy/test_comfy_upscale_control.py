"""Upscales and ControlNet through the door, painted: SwarmUI's core "Refiner Upscale" graph
(testkit/comfy_workflows.py cites it) with a library upscaler and with lanczos, as the hires fix; its
upscale step alone on an uploaded picture, as an upscale job; a ControlNet graph as the retouch
engine's lineart control; and the refusals ComfyUI words for a model the library does not hold."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generation.imagefile import read_parameters
from generation.models import GenerationJob
from infra.client_keys import issue
from infra.models import ClientKey
from library.models import LibraryEntry
from provenance import report, xmp
from provenance.certs import make_test_chain
from testkit import comfy_workflows as workflows
from tests.comfy.door_support import Socket, call, paint, serving
from tests.comfy.test_comfy_door import checkpoint, job_of, multipart, png
from tests.generation.tiny_components import save_tiny_upscaler

pytestmark = [pytest.mark.django_db(transaction=True)]
UPSCALER = "tiny-x2"


@pytest.fixture(scope="module")
def upscalers_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("comfy-upscalers")
    save_tiny_upscaler(root / "upscalers" / f"{UPSCALER}.safetensors", scale=2)
    return root


@pytest.fixture
def door(retouch_settings, no_enqueue, upscalers_folder):
    retouch_settings.GARDEN_MODELS_DIR = str(upscalers_folder)
    LibraryEntry.objects.update_or_create(
        kind=LibraryEntry.Kind.UPSCALER,
        name=UPSCALER,
        defaults={"path": f"upscalers/{UPSCALER}.safetensors", "present": True, "usable": True},
    )
    with serving() as base:
        yield base


@pytest.fixture
def bearer(django_user_model):
    user = django_user_model.objects.create_user("swarm-admin", is_staff=True)
    return {"Authorization": f"Bearer {issue(ClientKey(user=user, name='swarm'), by=user)}"}


def painted(base: str, headers: dict, prompt_id: str) -> Image.Image:
    job = job_of(prompt_id)
    paint(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    entry = call(base, "GET", f"/history/{prompt_id}", headers=headers)[2][prompt_id]
    (picture,) = entry["outputs"]["9"]["images"]
    status, _, content = call(base, "GET", f"/view?filename={picture['filename']}&type=output", headers=headers)
    assert status == 200
    return Image.open(io.BytesIO(content))


def test_swarms_refiner_upscale_paints_as_the_hires_fix(door, bearer):
    status, _, info = call(door, "GET", "/object_info/UpscaleModelLoader", headers=bearer)
    assert info["UpscaleModelLoader"]["input"]["required"]["model_name"][0] == [UPSCALER]
    model = checkpoint(door, bearer)
    for method in (f"model-{UPSCALER}", "pixel-lanczos"):
        graph = workflows.swarm_upscale(model=model, method=method, steps=4, control=0.5, upscale=2.0)
        status, _, answer = call(door, "POST", "/prompt", {"prompt": graph, "client_id": "swarm"}, bearer)
        assert status == 200, answer
        hires = job_of(answer["prompt_id"]).options["hires"]
        assert hires["upscaler"] == (UPSCALER if method.startswith("model") else "lanczos") and hires["steps"] == 2, hires
        assert painted(door, bearer, answer["prompt_id"]).size == (128, 128)
    graph = workflows.swarm_upscale(model=model, method="model-4x-UltraSharp.pth")
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 400 and answer["node_errors"]["27"]["errors"][0]["type"] == "value_not_in_list", answer
    assert answer["node_errors"]["27"]["errors"][0]["details"] == f"model_name: '4x-UltraSharp.pth' not in ['{UPSCALER}']"


def test_swarms_upscale_step_on_an_upload_paints_as_an_upscale_job(door, bearer, settings, tmp_path):
    chain, key = make_test_chain()  # every provenance mark on: XMP, C2PA, the invisible watermark
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = str(tmp_path / "chain.pem"), str(tmp_path / "key.pem")
    settings.GARDEN_PROVENANCE_WATERMARK = True
    photo = Image.new("RGB", (160, 128), (30, 60, 90))
    photo.paste((230, 210, 40), (40, 30, 110, 90))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    body, content_type = multipart("photo.png", buffer.getvalue())
    uploaded = call(door, "POST", "/upload/image", body, {**bearer, "Content-Type": content_type})[2]
    for method, upscaler in ((f"model-{UPSCALER}", UPSCALER), ("pixel-lanczos", "lanczos")):
        graph = workflows.swarm_upscale_only(image=uploaded["name"], method=method, upscale=2.0, width=160, height=128)
        socket = Socket(door.replace("http", "ws") + f"/ws?clientId=swarm-{upscaler}", headers=bearer)
        status, _, answer = call(door, "POST", "/prompt", {"prompt": graph, "client_id": f"swarm-{upscaler}"}, bearer)
        assert status == 200, answer
        job = job_of(answer["prompt_id"])
        assert (job.kind, job.width, job.height, job.options["origin"]) == ("upscale", 320, 256, "comfy")
        assert job.retouch_job.options["upscaler"] == upscaler
        queued = call(door, "GET", "/queue", headers=bearer)[2]
        assert [item[1] for item in queued["queue_pending"]] == [answer["prompt_id"]]
        assert painted(door, bearer, answer["prompt_id"]).size == (320, 256)
        events = socket.wait_end()
        kinds = [message["type"] for message in events]
        assert kinds[-3:] == ["executed", "execution_success", "executing"], kinds
        assert {m["data"]["node"] for m in events if m["type"] == "progress"} == {"26"}
        image = job.images.get()
        with default_storage.open(image.key, "rb") as handle:
            content = handle.read()
        assert image.key.endswith(".png") and read_parameters(content)["upscaler"] == upscaler
        found = report.describe(content)
        assert found["xmp"]["digital_source_type"] == xmp.COMPOSITE and found["watermark"]["found"], found
        assert found["c2pa"]["validation_state"] == "Valid"
        assert {action["digital_source_type"] for action in found["c2pa"]["actions"]} >= {xmp.COMPOSITE}
    graph = workflows.swarm_upscale_only(image=uploaded["name"], method=f"model-{UPSCALER}")
    graph["29"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["27", 0], "image": ["28", 0]}}
    graph["26"]["inputs"]["image"] = ["29", 0]  # two model upscales: no one job
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 400 and answer["node_errors"]["29"]["class_type"] == "ImageUpscaleWithModel", answer
    settings.GARDEN_RETOUCH_MAX_PIXELS = 600 * 600
    graph = workflows.swarm_upscale_only(image=uploaded["name"], method="pixel-lanczos", upscale=8.0, width=160, height=128)
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)  # 1280x1024: over the venue's pixels
    assert status == 400 and answer["node_errors"]["26"]["errors"][0]["extra_info"]["input_name"] == "width", answer


def test_a_controlnet_graph_paints_with_the_lineart_control(door, bearer, retouch_models, retouch_settings):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    status, _, info = call(door, "GET", "/object_info/ControlNetLoader", headers=bearer)
    (name,) = info["ControlNetLoader"]["input"]["required"]["control_net_name"][0]
    assert name == "tiny-lineart [lineart]"  # the folder's name: never its path
    body, content_type = multipart("edges.png", png(colour=(255, 255, 255, 255)))
    uploaded = call(door, "POST", "/upload/image", body, {**bearer, "Content-Type": content_type})[2]
    graph = workflows.open_webui(prompt="a teapot", model=checkpoint(door, bearer), width=64, height=64, steps=2, seed=3)
    graph = workflows.with_controlnet(graph, model=name, image=uploaded["name"])
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 200, answer
    job = job_of(answer["prompt_id"])
    (unit,) = job.retouch_job.options["controls"]
    assert job.kind == "retouch" and (unit["type"], unit["scale"], unit["end"]) == ("lineart", 0.8, 0.9)
    assert painted(door, bearer, answer["prompt_id"]).size == (64, 64)
    graph["60"]["inputs"]["control_net_name"] = "control_v11p_sd15_openpose.pth"
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 400 and answer["node_errors"]["60"]["class_type"] == "ControlNetLoader", answer
    assert answer["node_errors"]["60"]["errors"][0]["type"] == "value_not_in_list"


def test_swarms_canny_preprocessor_step_paints_with_the_canny_control(door, bearer, retouch_models, retouch_settings, tmp_path):
    # The tiny ControlNet as the canny one, under a name that does not say "lineart" (the kind is read from the name).
    (tmp_path / "tiny-edges").symlink_to(retouch_models["lineart"], target_is_directory=True)
    retouch_settings.GARDEN_RETOUCH_CANNY_CONTROLNET = str(tmp_path / "tiny-edges")
    status, _, info = call(door, "GET", "/object_info", headers=bearer)
    (name,) = info["ControlNetLoader"]["input"]["required"]["control_net_name"][0]
    assert name == "tiny-edges [canny]"
    photo = Image.new("RGB", (96, 64), (30, 60, 90))
    photo.paste((230, 210, 40), (20, 12, 70, 50))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    body, content_type = multipart("photo.png", buffer.getvalue())
    uploaded = call(door, "POST", "/upload/image", body, {**bearer, "Content-Type": content_type})[2]
    graph = workflows.open_webui(prompt="a box", model=checkpoint(door, bearer), width=64, height=64, steps=2, seed=4)
    graph = workflows.with_controlnet(graph, model=name, image=uploaded["name"])
    graph = workflows.with_swarm_preprocessor(graph, info, "CannyEdgePreprocessor", width=64, height=64)
    status, _, answer = call(door, "POST", "/prompt", {"prompt": graph}, bearer)
    assert status == 200, answer
    job = job_of(answer["prompt_id"])
    (unit,) = job.retouch_job.options["controls"]
    assert job.kind == "retouch" and (unit["type"], unit["scale"]) == ("canny", 0.8)
    assert painted(door, bearer, answer["prompt_id"]).size == (64, 64)
