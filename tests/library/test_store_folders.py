"""Issue 87: diffusers folders, LoRAs and the rest reach a host that lacks them through the store.

A folder is stored as its files by sha256 plus a manifest (library.manifests); a host that lacks it
fetches the files it lacks into its blobs and rebuilds the folder from them, which diffusers loads.
Two "hosts" are two GARDEN_HOST_NAME values with two folders over one database (as in
test_store_and_copies.py); the store is moto's S3 server on loopback, or a folder.
"""

from __future__ import annotations

import shutil

import pytest

from generation.models import GenerationJob
from library import cache, manifests
from library import store as model_store
from library.models import LibraryEntry
from library.services import entries as library_services
from library.services import follow
from testkit.tiny_library import save_tiny_lora
from testkit.tiny_pipeline import save_tiny_pipeline
from tests.library.test_store_and_copies import BUCKET, hosts, s3  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    """tiny-sd-a and tiny-sd-b (seeds 0 and 1), and tiny-sd-c: tiny-sd-a with tiny-sd-b's UNet (it
    shares a's text encoder, VAE, tokenizer and scheduler), and a LoRA for them."""
    root = tmp_path_factory.mktemp("folders")
    save_tiny_pipeline(root / "tiny-sd-a", seed=0)
    save_tiny_pipeline(root / "tiny-sd-b", seed=1)
    shutil.copytree(root / "tiny-sd-a", root / "tiny-sd-c")
    shutil.rmtree(root / "tiny-sd-c" / "unet")
    shutil.copytree(root / "tiny-sd-b" / "unet", root / "tiny-sd-c" / "unet")
    save_tiny_lora(root / "loras" / "tiny-ink.safetensors")
    return root


def _entry(name: str) -> LibraryEntry:
    return LibraryEntry.objects.get(name=name)


def _store_objects(root) -> set[str]:
    return {path.name for path in (root / "sha256").iterdir() if not path.name.startswith(".")}


def test_a_second_folder_sharing_a_component_stores_it_once(hosts, settings, tmp_path, tiny_folders):  # noqa: F811
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder = hosts.on("a")
    shutil.copytree(tiny_folders / "tiny-sd-a", folder / "tiny-sd-a")
    follow.scan_now("command")
    a = _entry("tiny-sd-a")
    assert a.sha256 == "" and len(a.manifest_sha256) == 64 and a.stored_at is not None
    first = _store_objects(tmp_path / "store")
    assert first == set(manifests.blobs(a.details["files"])) | {a.manifest_sha256}
    assert (tmp_path / "store" / "sha256" / a.manifest_sha256).read_bytes() == manifests.encode(a.details["files"])

    shutil.copytree(tiny_folders / "tiny-sd-c", folder / "tiny-sd-c")
    follow.scan_now("command")
    c = _entry("tiny-sd-c")
    added = _store_objects(tmp_path / "store") - first
    shared = {sha for path, sha, _ in c.details["files"] if path.startswith(("text_encoder/", "vae/"))}
    assert shared and shared <= first  # the text encoder and VAE are a's blobs
    assert added == (set(manifests.blobs(c.details["files"])) - set(manifests.blobs(a.details["files"]))) | {c.manifest_sha256}
    assert c.stored_at is not None


@pytest.mark.django_db(transaction=True)  # the uploads' progress is written from boto3's reading thread, as on a host
def test_a_folder_and_a_lora_paint_on_the_other_host_once_the_first_is_gone(hosts, s3, diffusers_settings, tiny_folders):  # noqa: F811
    """The issue's walk: a folder model and a LoRA copied into host a's folder, host a stopped, and
    host b's worker paints a job with the LoRA applied (the worker's own path: runner, cache, backend)."""
    import io

    import numpy as np
    from PIL import Image as PILImage

    from garden.services import read_file
    from generation import selectors, services
    from generation.requests import JobRequest
    from generation.worker import runner as worker_runner

    folder_a = hosts.on("a")
    shutil.copytree(tiny_folders / "tiny-sd-a", folder_a / "tiny-sd-a")
    shutil.copytree(tiny_folders / "loras", folder_a / "loras")
    follow.scan_now("install")
    model, lora = _entry("tiny-sd-a"), _entry("tiny-ink")
    assert model.stored_at is not None and lora.stored_at is not None
    shutil.rmtree(folder_a)  # host a stopped, and its disk with it

    folder_b = hosts.on("b")

    def paint(**params) -> np.ndarray:
        request = {"prompt": "a red fox", "width": 64, "height": 64, "steps": 2, "seed": 5, "model": "tiny-sd-a", **params}
        job = services.create_job(request=JobRequest(**request), enqueue=False)
        job = worker_runner.execute_job(job_id=job.pk, worker="gpu@b")
        assert job.status == GenerationJob.Status.SUCCEEDED, job.error
        with PILImage.open(io.BytesIO(read_file(selectors.job_images(job)[0].key))) as picture:
            return np.asarray(picture.convert("RGB"), dtype=np.int16)

    styled = paint(loras=(("tiny-ink", 1.0),))
    assert (folder_b / "tiny-sd-a" / "model_index.json").is_file()
    assert (folder_b / "loras" / "tiny-ink.safetensors").read_bytes() == (tiny_folders / "loras" / "tiny-ink.safetensors").read_bytes()
    plain = paint()
    assert np.abs(styled - plain).max() > 10  # the LoRA was applied
    # The folder is the blobs, linked; a second look fetches nothing.
    unet = next(sha for path, sha, _ in model.details["files"] if path.startswith("unet/") and path.endswith(".safetensors"))
    assert (folder_b / cache.WORK / "blobs" / unet).stat().st_nlink == 2
    seen: list[tuple[int, int]] = []
    assert cache.local_path(model, progress=lambda done, total: seen.append((done, total))) == folder_b / "tiny-sd-a"
    assert seen == []
    # Host b's scan finds the rebuilt folder without hashing it and changes nothing.
    result = library_services.scan()
    assert result.added == result.changed == result.lost == []
    assert _entry("tiny-sd-a").manifest_sha256 == model.manifest_sha256


def test_a_fetch_reports_bytes_and_eviction_removes_the_folder_and_its_unshared_blobs(hosts, settings, tmp_path, tiny_folders):  # noqa: F811
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder_a = hosts.on("a")
    for name in ("tiny-sd-a", "tiny-sd-c"):
        shutil.copytree(tiny_folders / name, folder_a / name)
    follow.scan_now("command")
    a, c = _entry("tiny-sd-a"), _entry("tiny-sd-c")
    folder_b = hosts.on("b")
    seen: list[tuple[int, int]] = []
    cache.local_path(a, progress=lambda done, total: seen.append((done, total)))
    total = sum(manifests.blobs(a.details["files"]).values())
    assert seen[-1] == (total, total) and all(done <= total for done, _ in seen)
    cache.local_path(c)
    blobs = folder_b / cache.WORK / "blobs"
    assert len(list(blobs.iterdir())) == len(set(manifests.blobs(a.details["files"])) | set(manifests.blobs(c.details["files"])))
    cache.release_all()
    # Room for one more byte than is free under the bound: a (used longest ago) goes, c's shared blobs stay.
    settings.GARDEN_MODELS_CACHE_GB = cache.used_bytes() / 1e9
    (folder_b / cache.WORK / "use" / a.manifest_sha256).touch()
    import os

    os.utime(folder_b / cache.WORK / "use" / a.manifest_sha256, (1, 1))
    removed = cache.make_room(1)
    assert removed == ["tiny-sd-a"] and not (folder_b / "tiny-sd-a").exists() and (folder_b / "tiny-sd-c").is_dir()
    left = {path.name for path in blobs.iterdir()}
    assert left == set(manifests.blobs(c.details["files"]))
    assert cache.local_path(c) == folder_b / "tiny-sd-c"


def test_a_folder_not_in_the_store_yet_is_a_wait_not_a_path_to_nothing(hosts, settings, tmp_path, tiny_folders):  # noqa: F811
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder_a = hosts.on("a")
    shutil.copytree(tiny_folders / "tiny-sd-a", folder_a / "tiny-sd-a")
    library_services.scan()  # listed, not pushed yet
    hosts.on("b")
    with pytest.raises(model_store.StoreUnavailable, match="holds no file"):
        cache.local_path(_entry("tiny-sd-a"))


def test_a_host_without_a_models_folder_fetches_nothing_into_the_working_directory(hosts, settings, tmp_path, tiny_folders, monkeypatch):  # noqa: F811
    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder_a = hosts.on("a")
    shutil.copytree(tiny_folders / "tiny-sd-a", folder_a / "tiny-sd-a")
    follow.scan_now("command")
    hosts.on("b")
    settings.GARDEN_MODELS_DIR = ""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cache.CacheFull, match="GARDEN_MODELS_DIR is empty"):
        cache.local_path(_entry("tiny-sd-a"))
    assert not (tmp_path / "tiny-sd-a").exists()


def test_a_folder_fetched_by_another_host_is_no_change_to_either_host(hosts, settings, tmp_path, tiny_folders):  # noqa: F811
    """Issue 96: host b's fetch of a folder installed on host a (with its install sidecar) read as
    "changed" in the next scans: the fetched folder lacked the sidecar (the manifest leaves dot-files
    out), so host b's scan wrote another source and size, and host a's wrote its own back."""
    import json

    settings.GARDEN_MODELS_STORE = f"file://{tmp_path / 'store'}"
    (tmp_path / "store").mkdir()
    folder = hosts.on("a")
    shutil.copytree(tiny_folders / "tiny-sd-b", folder / "tiny-sd-b")
    (folder / "tiny-sd-b" / ".source.json").write_text(json.dumps({"source": "hf:example/tiny-sd-b", "kind": "pipeline"}))
    follow.scan_now("command")
    entry = _entry("tiny-sd-b")
    assert entry.source == "hf:example/tiny-sd-b" and entry.stored_at is not None

    hosts.on("b")
    fetched = cache.local_path(entry)
    assert (fetched / "model_index.json").is_file()
    turns = []
    for host in "baba":
        hosts.on(host)
        result = library_services.scan()
        turns.append((host, result.added, result.changed, result.lost))
    assert turns == [(host, [], [], []) for host in "baba"]
    entry.refresh_from_db()
    assert entry.source == "hf:example/tiny-sd-b"
    assert entry.size_bytes == sum(size for _, _, size in entry.details["files"])  # the model's files, as the manifest counts them
