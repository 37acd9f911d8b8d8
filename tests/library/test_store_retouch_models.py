"""Issue 87: ControlNets and the WD14 tagger are library entries and reach a host that lacks them
through the one door, ``library.cache.local_path``, like every other model.

Their folders sit under ``controlnet/<name>/`` and ``tagger/<name>/`` in a host's models folder;
the scan lists them (kinds ``controlnet`` and ``tagger``), the store keeps them as files by sha256
plus a manifest, and a host whose folder lacks them fetches them when a retouch job's control or a
tags request needs them. Two "hosts" are two GARDEN_HOST_NAME values with two folders over one
database (tests/library/test_store_and_copies.py); the models are the retouch tests' tiny ones.
"""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from config import caches
from generation.models import GenerationJob
from generation.worker import runner as worker_runner
from library import cache, manifests
from library import selectors as library
from library.models import LibraryCopy, LibraryEntry
from library.services import entries as library_services
from library.services import follow
from retouch import runner as retouch_runner
from tests.library.test_store_and_copies import hosts  # noqa: F401 (fixture)
from tests.retouch.retouch_support import encoded, mask_png, noise, upload

pytestmark = pytest.mark.django_db
Kind = LibraryEntry.Kind


@pytest.fixture
def file_store(settings, tmp_path):
    (tmp_path / "store").mkdir()
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    return tmp_path / "store"


def _put_retouch_models(folder, retouch_models) -> None:
    shutil.copytree(retouch_models["lineart"], folder / "controlnet" / "tiny-lineart")
    shutil.copytree(retouch_models["tagger"], folder / "tagger" / "tiny-tagger")


def _entry(name: str) -> LibraryEntry:
    return LibraryEntry.objects.get(name=name)


def test_the_scan_lists_controlnet_and_tagger_folders_and_says_what_it_cannot_use(settings, tmp_path, retouch_models):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    _put_retouch_models(tmp_path, retouch_models)
    # A1111's ControlNet folder name, a class the engine does not load, a single file, half a tagger.
    shutil.copytree(retouch_models["lineart"], tmp_path / "ControlNet" / "flux-union")
    config = tmp_path / "ControlNet" / "flux-union" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "_class_name": "FluxControlNetModel"}))
    shutil.copy(retouch_models["lineart"] / "diffusion_pytorch_model.safetensors", tmp_path / "controlnet" / "one-file.safetensors")
    (tmp_path / "tagger" / "half").mkdir()
    shutil.copy(retouch_models["tagger"] / "selected_tags.csv", tmp_path / "tagger" / "half")

    result = library_services.scan()

    lineart, tagger = _entry("tiny-lineart"), _entry("tiny-tagger")
    assert (lineart.kind, lineart.path, lineart.usable) == (Kind.CONTROLNET, "controlnet/tiny-lineart", True)
    assert lineart.details["class_name"] == "ControlNetModel" and lineart.details["cross_attention_dim"] == 32
    assert (tagger.kind, tagger.path, tagger.usable, tagger.details["tags"]) == (Kind.TAGGER, "tagger/tiny-tagger", True, 8)
    # Folders: their identity is their manifest's sha256, as a diffusers model's.
    for entry in (lineart, tagger):
        assert entry.sha256 == "" and entry.manifest_sha256 == manifests.digest_of(entry.details["files"])
    assert sorted(path for path, _, _ in tagger.details["files"]) == ["model.onnx", "selected_tags.csv"]
    flux, single, half = _entry("flux-union"), _entry("one-file"), _entry("half")
    assert flux.kind == Kind.CONTROLNET and not flux.usable and "FluxControlNetModel" in flux.unusable_reason
    assert single.kind == Kind.CONTROLNET and not single.usable and "diffusers ControlNet folders" in single.unusable_reason
    assert half.kind == Kind.TAGGER and not half.usable and "model.onnx missing" in half.unusable_reason
    assert half.manifest_sha256 == ""  # not whole: no identity
    assert "3 ControlNet(s), 2 tagger(s); not usable: flux-union, one-file, half" in result.summary()
    assert list(library.controlnets()) == [lineart] and list(library.taggers()) == [tagger]
    assert library.resolve_controlnet("tiny-lineart") == lineart
    with pytest.raises(library.UnusableEntry, match="FluxControlNetModel"):
        library.resolve_controlnet("flux-union")
    with pytest.raises(library.UnknownEntry, match="Unknown ControlNet 'canny-x': the library has tiny-lineart"):
        library.resolve_controlnet("canny-x")


def test_a_controlnet_and_the_tagger_on_host_a_reach_host_b_through_the_store(
    hosts,  # noqa: F811
    file_store,
    retouch_models,
    retouch_settings,
    staff_client,
    no_enqueue,
    monkeypatch,
):
    """The issue's walk for the retouch models: copied into host a's folder, stored, host a's disk
    gone; host b's retouch job with a lineart control and its tags request fetch them (hash checked),
    the job's stage saying *fetching* meanwhile."""
    folder_a = hosts.on("a")
    _put_retouch_models(folder_a, retouch_models)
    follow.scan_now("command")
    lineart, tagger = _entry("tiny-lineart"), _entry("tiny-tagger")
    stored = {path.name for path in (file_store / "sha256").iterdir()}
    for entry in (lineart, tagger):
        assert entry.stored_at is not None
        assert set(manifests.blobs(entry.details["files"])) | {entry.manifest_sha256} <= stored
    shutil.rmtree(folder_a)

    folder_b = hosts.on("b")
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = "tiny-lineart"  # a library entry, by name
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = "tiny-tagger"
    monkeypatch.setattr(cache, "SMALL_BLOB", 0)  # every file reports its bytes (real ones are 100s of MB)
    stages: list[tuple[str, str]] = []

    def watched(job, name):
        report = original(job, name)

        def record(done: int, total: int) -> None:
            report(done, total)
            stages.append(GenerationJob.objects.values_list("stage", "notice").get(pk=job.pk))

        return record

    original = retouch_runner.fetch_reporter
    monkeypatch.setattr(retouch_runner, "fetch_reporter", watched)
    response = staff_client.post(
        "/api/v1/jobs",
        {
            "kind": "retouch", "work_size": 64, "seed": 7, "padding": 8, "prompt": "a red flower",
            "image": upload(encoded(noise(seed=4))), "mask": upload(mask_png()), "controls": '[{"type": "lineart"}]',
        },
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 202, response.content
    job = worker_runner.execute_job(job_id=response.json()["id"], worker="gpu@b")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.images.get().parameters["controls"][0]["type"] == "lineart"
    assert (GenerationJob.Stage.FETCHING, "Fetching tiny-lineart onto this host: 0.00 of 0.00 GB") in stages
    assert stages[-1][0] == ""  # put back once fetched
    fetched = folder_b / "controlnet" / "tiny-lineart"
    for relative, sha256, _ in lineart.details["files"]:
        assert (fetched / relative).read_bytes() == (retouch_models["lineart"] / relative).read_bytes()
        assert (folder_b / cache.WORK / "blobs" / sha256).is_file()
    assert LibraryCopy.objects.get(entry=lineart, host="b").on_disk

    red = encoded(Image.new("RGB", (40, 30), (230, 20, 20)))
    body = staff_client.post("/api/v1/retouch/tags", {"image": upload(red)}, format="multipart").json()
    assert "red flower" in body["tags"]
    assert (folder_b / "tagger" / "tiny-tagger" / "model.onnx").read_bytes() == (retouch_models["tagger"] / "model.onnx").read_bytes()
    # Once per host: asked again, nothing is fetched.
    seen: list[tuple[int, int]] = []
    for entry in (lineart, tagger):
        cache.local_path(entry, progress=lambda done, total: seen.append((done, total)))
    assert seen == []


def test_fetched_retouch_models_are_evicted_by_the_caches_rule(hosts, file_store, retouch_models, settings):  # noqa: F811
    _put_retouch_models(hosts.on("a"), retouch_models)
    follow.scan_now("command")
    lineart, tagger = _entry("tiny-lineart"), _entry("tiny-tagger")
    folder_b = hosts.on("b")
    cache.local_path(lineart)
    cache.local_path(tagger)
    cache.release_all()  # no process of this host uses them now
    import os

    os.utime(folder_b / cache.WORK / "use" / lineart.manifest_sha256, (1, 1))  # used longest ago
    settings.GARDEN_MODELS_CACHE_GB = cache.used_bytes() / 1e9
    assert cache.make_room(1) == ["tiny-lineart"]
    assert not (folder_b / "controlnet" / "tiny-lineart").exists() and (folder_b / "tagger" / "tiny-tagger").is_dir()
    assert not LibraryCopy.objects.get(entry=lineart, host="b").on_disk
    blobs = {path.name for path in (folder_b / cache.WORK / "blobs").iterdir()}
    assert blobs == set(manifests.blobs(tagger.details["files"]))  # the ControlNet's blobs went with it


def test_a_name_the_library_cannot_supply_is_a_503_naming_the_setting(settings, tmp_path, retouch_models, retouch_settings, staff_client):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    _put_retouch_models(tmp_path, retouch_models)
    library_services.scan()
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = "no-such-controlnet"
    response = staff_client.post(
        "/api/v1/jobs",
        {"kind": "retouch", "image": upload(encoded(noise())), "mask": upload(mask_png()), "controls": '[{"type": "lineart"}]'},
        format="multipart",
    )
    assert response.status_code == 503
    assert "GARDEN_RETOUCH_LINEART_CONTROLNET names 'no-such-controlnet'" in response.json()["detail"]
    assert "the library has tiny-lineart" in response.json()["detail"]
    status = staff_client.get("/api/v1/retouch/status").json()["features"]
    assert status["lineart"]["available"] and status["lineart"]["found_here"] is False
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = "tiny-tagger"
    assert staff_client.get("/api/v1/retouch/status").json()["features"]["tags"]["found_here"] is True
    assert staff_client.get("/tagger/v1/interrogators").json() == {"models": ["tiny-tagger"]}
    assert staff_client.get("/controlnet/model_list").json() == {"model_list": ["no-such-controlnet [lineart]"]}


def test_a_web_host_without_a_models_folder_says_it_cannot_hold_the_tagger(
    hosts,  # noqa: F811
    file_store,
    retouch_models,
    retouch_settings,
    staff_client,
):
    _put_retouch_models(hosts.on("a"), retouch_models)
    follow.scan_now("command")
    retouch_settings.GARDEN_HOST_NAME = "web"
    retouch_settings.GARDEN_MODELS_DIR = ""  # a web machine: the store, no folder
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = "tiny-tagger"
    caches.reset_all()  # a fresh web process: no tagger loaded by an earlier test
    red = encoded(Image.new("RGB", (40, 30), (230, 20, 20)))
    response = staff_client.post("/api/v1/retouch/tags", {"image": upload(red)}, format="multipart")
    assert response.status_code == 503
    assert "GARDEN_MODELS_DIR is empty on this host" in response.json()["detail"]
