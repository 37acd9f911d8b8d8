"""The library follows its folder (docs/models.md#the-library-follows-its-folder), on real files in a
temporary models folder: the periodic look picks up a file added, replaced or removed; one process
scans at a time; a file still being written is listed not usable, unhashed; a truncated safetensors file (written
by safetensors' own writer, then cut) or torch zip is listed not usable with its reason and never
offered; a model whose file is gone is a 400 naming it, fails a queued job with the library's
reason, is dropped by the worker and refused by Retry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from safetensors.numpy import save_file

from a1111 import catalog
from a1111.options import options_object
from generation import services
from generation.backends import BackendError, LoadedPipelines
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.worker.toolbox import library_files as runner_library_files
from library import files as library_files
from library import selectors as library
from library.models import LibraryEntry, LibraryScan
from library.services import entries as library_services
from library.services import follow as library_follow

pytestmark = pytest.mark.django_db

# An SD 1.x checkpoint's telltale keys at tiny shapes: the scan classifies from the header alone.
SD1_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3),
    "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight": (77, 8),
    "first_stage_model.decoder.conv_out.weight": (3, 8, 3, 3),
}


def write_checkpoint(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: rng.standard_normal(shape).astype(np.float32) for name, shape in SD1_KEYS.items()}, str(path))
    return path


def config_only_pipeline(folder: Path) -> Path:
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(
        json.dumps({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})
    )
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    return folder


@pytest.fixture
def models(settings, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    settings.GARDEN_MODELS_DIR = str(root)
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    return root


def names() -> list[str]:
    return [entry.name for entry in library.pipelines()]


# --- incomplete files ------------------------------------------------------------------------------


def test_a_truncated_safetensors_file_is_listed_not_usable_and_never_offered(models):
    whole = write_checkpoint(models / "garden15.safetensors")
    cut = models / "copying.safetensors"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 1000])

    result = library_services.scan()

    entry = LibraryEntry.objects.get(name="copying")
    assert entry.family == "sd1" and not entry.usable
    assert (entry.sha256, entry.short_hash) == ("", "")  # no hash of its bytes so far: an identity that is nobody's (issue 79, item 7)
    assert entry.unusable_reason.startswith(f"incomplete: its header says {whole.stat().st_size} bytes, the file has {cut.stat().st_size}")
    assert "copying" in result.summary() and LibraryEntry.objects.get(name="garden15").usable
    assert names() == ["garden15"]
    assert [model["model_name"] for model in catalog.sd_models()] == ["garden15"]  # A1111's list leaves it out
    with pytest.raises(JobParameterError) as caught:
        JobRequest(prompt="garden", model="copying").validate()
    assert caught.value.fields["model"].startswith("Model 'copying' cannot be used: incomplete: its header says")

    cut.write_bytes(whole.read_bytes())  # the copy completes: the next scan offers it
    result = library_services.scan()
    assert result.changed == ["copying"] and names() == ["copying", "garden15"]
    assert LibraryEntry.objects.get(name="copying").sha256 == library_files.sha256_of(whole)


def test_a_cut_torch_zip_checkpoint_is_listed_not_usable(models, settings):
    import torch

    settings.GARDEN_MODELS_ALLOW_CKPT = True
    whole = models / "old.ckpt"
    torch.save({"state_dict": {name: torch.zeros(shape) for name, shape in SD1_KEYS.items()}}, whole)
    (models / "cut.ckpt").write_bytes(whole.read_bytes()[:-200])

    library_services.scan()

    assert LibraryEntry.objects.get(name="old").usable
    cut = LibraryEntry.objects.get(name="cut")
    assert not cut.usable and "zip directory cannot be read" in cut.unusable_reason and cut.sha256 == ""


def test_a_pipeline_folder_missing_a_component_is_not_usable(models):
    folder = config_only_pipeline(models / "half-copied")
    (folder / "model_index.json").write_text(
        json.dumps(
            {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
        )
    )

    library_services.scan()

    entry = LibraryEntry.objects.get(name="half-copied")
    assert not entry.usable and entry.unusable_reason == "incomplete: vae/, named in model_index.json, is missing"


def test_a_file_still_being_written_is_listed_not_usable_without_a_hash_until_it_holds_still(models, monkeypatch):
    """Issue 79, item 7: docs/models.md and operations.md say a file still being written is listed,
    not usable, and hashed only once whole and still; a listed file being replaced loses its hash too."""
    write_checkpoint(models / "steady.safetensors")
    growing = write_checkpoint(models / "growing.safetensors", seed=1)
    real_walk = library_files.walk
    writing = [growing]

    def walk_then_write(root, skipped):
        found = real_walk(root, skipped)
        for path in writing:  # a copy still writing between the walk's look and the next
            with path.open("ab") as stream:
                stream.write(b"\0" * 4096)
        return found

    monkeypatch.setattr(library_files, "walk", walk_then_write)
    result = library_services.scan()

    assert result.settling == ["growing.safetensors"] and "still being written: growing.safetensors" in result.changes()
    entry = LibraryEntry.objects.get(name="growing")
    assert (entry.usable, entry.unusable_reason) == (False, "still being written: offered once it holds still")
    assert (entry.sha256, entry.short_hash) == ("", "") and names() == ["steady"]
    assert result.added == ["growing", "steady"]

    monkeypatch.setattr(library_files, "walk", real_walk)
    result = library_services.scan()
    entry.refresh_from_db()
    assert result.changed == ["growing"] and not result.settling and names() == ["growing", "steady"]
    assert entry.sha256 == library_files.sha256_of(growing) and entry.short_hash == entry.sha256[:10]

    writing[:] = [models / "steady.safetensors"]  # a listed file being replaced: not offered, its hash gone
    monkeypatch.setattr(library_files, "walk", walk_then_write)
    result = library_services.scan()
    steady = LibraryEntry.objects.get(name="steady")
    assert result.changed == ["steady"] and not steady.usable and steady.sha256 == "" and names() == ["growing"]


# --- the periodic look and the lock ----------------------------------------------------------------


def test_the_follower_picks_up_files_added_replaced_and_removed_and_skips_an_unchanged_folder(models):
    follower = library_follow.Follower(interval=30)
    write_checkpoint(models / "first.safetensors")

    assert follower.tick("start").added == ["first"]  # at start: always a scan
    assert follower.tick("periodic") is None  # nothing changed: no scan at all (no file opened)

    write_checkpoint(models / "second.safetensors")
    assert follower.tick("periodic").added == ["second"]
    before = LibraryEntry.objects.get(name="second").sha256
    write_checkpoint(models / "second.safetensors", seed=5)  # replaced
    result = follower.tick("periodic")
    assert result.changed == ["second"] and LibraryEntry.objects.get(name="second").sha256 != before
    (models / "first.safetensors").unlink()
    result = follower.tick("periodic")
    assert result.lost == ["first"] and names() == ["second"]

    scans = list(LibraryScan.objects.order_by("requested_at").values_list("trigger", "added", "changed", "lost"))
    assert scans == [
        ("start", ["first"], [], []),
        ("periodic", ["second"], [], []),
        ("periodic", [], ["second"], []),
        ("periodic", [], [], ["first"]),
    ]
    assert LibraryScan.objects.first().message.startswith("lost: first. The default model first cannot be used")


def test_one_process_scans_at_a_time(models):
    """Another holder (a thread with its own database connection, as another process would have:
    PostgreSQL's advisory locks are per session) keeps every other scan out until it lets go."""
    import threading

    from django.db import connection

    write_checkpoint(models / "waiting.safetensors")
    held, release = threading.Event(), threading.Event()

    def other_process():
        try:
            with library_follow._lock():
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    try:
        assert held.wait(30)
        assert library_follow.scan_if_free("periodic") is None
        assert not LibraryEntry.objects.exists()
    finally:
        release.set()
        holder.join(30)
    assert library_follow.scan_if_free("periodic").added == ["waiting"]


def test_scan_models_and_refresh_checkpoints_scan_and_say_what_changed(models, capsys):
    from django.core.management import call_command

    write_checkpoint(models / "fresh.safetensors")
    call_command("scan_models")
    out = capsys.readouterr().out
    assert "model     fresh (default): sd1" in out and "this scan: added: fresh. fresh is the default model now" in out
    assert LibraryScan.objects.get().trigger == "command"


# --- a model whose file is gone ----------------------------------------------------------------------


def test_a_removed_model_is_a_400_fails_its_queued_job_is_dropped_and_not_retried(models, token_client, no_enqueue, staff_client):
    write_checkpoint(models / "kept.safetensors")
    write_checkpoint(models / "gone.safetensors", seed=2)
    library_services.scan()
    queued = services.create_job(request=JobRequest(prompt="garden", model="gone", width=64, height=64, steps=2), enqueue=False)
    (models / "gone.safetensors").unlink()  # no rescan yet

    response = token_client.post("/api/v1/jobs", {"prompt": "garden", "model": "gone"}, format="json")
    assert response.status_code == 400
    detail = json.dumps(response.json())
    assert "Model 'gone' cannot be used: its file gone.safetensors is gone from the models folder" in detail
    assert "huggingface" not in detail.lower() and "GARDEN_HF_OFFLINE" not in detail

    with pytest.raises(BackendError) as caught:
        runner_library_files(queued)
    assert str(caught.value).startswith("Model 'gone' cannot be used: its file gone.safetensors is gone")
    assert "huggingface" not in str(caught.value).lower()

    GenerationJob.objects.filter(pk=queued.pk).update(status=GenerationJob.Status.FAILED, error="x")
    staff_client.user.is_superuser = True
    staff_client.user.save()
    page = staff_client.post(reverse("admin:generation_generationjob_retry", args=[queued.pk]), follow=True)
    assert "Not queued again: Model &#x27;gone&#x27; cannot be used" in page.content.decode()
    assert GenerationJob.objects.get(pk=queued.pk).status == GenerationJob.Status.FAILED


def test_a_worker_drops_a_held_model_whose_folder_is_gone(settings, tmp_path, tiny_model_dir):
    settings.GARDEN_DIFFUSION_MAX_LOADED = 3
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "held"))
    held = LoadedPipelines()
    held.get(str(copy))
    held.get(str(tiny_model_dir))
    assert held.models == [str(copy), str(tiny_model_dir)]
    shutil.rmtree(copy)

    held.get(str(tiny_model_dir))

    assert held.models == [str(tiny_model_dir)]


# --- the default ---------------------------------------------------------------------------------------


def test_losing_the_default_is_said_by_options_and_status_and_its_return_restores_it(models, tmp_path):
    write_checkpoint(models / "chosen.safetensors")
    write_checkpoint(models / "other.safetensors", seed=3)
    library_services.scan()
    library_services.set_default("other")
    (models / "other.safetensors").rename(tmp_path / "other.safetensors")

    result = library_services.scan()

    assert result.default_note.startswith("The default model other cannot be used: its file other.safetensors is gone")
    options = options_object([])
    assert options["sd_model_checkpoint"] == "chosen" and options["sd_model_checkpoint_default"] == "other"
    assert options["sd_model_checkpoint_note"] == result.default_note
    from curation.status import system_status

    assert result.default_note in system_status()["problems"]
    assert JobRequest(prompt="garden").validate().model == "chosen"  # the stand-in, said everywhere

    (tmp_path / "other.safetensors").rename(models / "other.safetensors")
    result = library_services.scan()
    assert result.default_note == "The default model other is back: jobs that name no model paint with it again."
    assert options_object([])["sd_model_checkpoint"] == "other" and options_object([])["sd_model_checkpoint_note"] == ""


def test_without_a_stand_in_jobs_naming_no_model_are_refused_saying_why(models, tmp_path):
    write_checkpoint(models / "only.safetensors")
    library_services.scan()
    (models / "only.safetensors").unlink()
    library_services.scan()

    with pytest.raises(JobParameterError) as caught:
        JobRequest(prompt="garden").validate()
    assert caught.value.fields["model"].startswith("Model 'only' cannot be used: its file only.safetensors is gone")


def test_the_name_help_text_keeps_the_lora_tag_visible(models, staff_client):
    write_checkpoint(models / "shown.safetensors")
    library_services.scan()
    staff_client.user.is_superuser = True
    staff_client.user.save()
    entry = LibraryEntry.objects.get(name="shown")
    page = staff_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode()
    assert "prompts (&lt;lora:name:1&gt;)" in page and "<lora:name:1>" not in page


# --- real processes ----------------------------------------------------------------------------------


def _rows(db: Path) -> dict[str, tuple[int, int]]:
    import sqlite3

    with sqlite3.connect(db, timeout=20) as connection:
        return {
            name: (present, usable)
            for name, present, usable in connection.execute("SELECT name, present, usable FROM generation_libraryentry")
        }


def _until(predicate, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


@pytest.mark.slow
@pytest.mark.backend_free
def test_a_running_worker_follows_the_folder_and_a_web_process_does_not(tmp_path):
    """A Celery worker (its main process, at worker_ready) follows GARDEN_MODELS_DIR: a checkpoint
    dropped in is listed within the interval, a half-copied one is listed not usable, a removed one
    is marked gone, with no scan asked for. A web process (its WSGI application loading) reads the
    rows and never scans (issue 78: the folder is the workers' host's copy)."""
    from testkit.local_services import reachable, redis_url
    from tests.generation.test_worker import Garden

    folder = tmp_path / "models"
    folder.mkdir()
    url = redis_url()
    garden = Garden(tmp_path, url if reachable(url) else "filesystem://", tmp_path, GARDEN_GENERATOR_BACKEND="procedural",
                    GARDEN_MODELS_DIR=str(folder), GARDEN_LIBRARY_SCAN_SECONDS="1", GARDEN_WORKER_PRESENCE_SECONDS="0")  # fmt: skip
    garden.env.pop("CACHE_URL", None)  # each process its own cache: the worker's look is its own
    garden.manage("migrate", "--no-input", "-v", "0")
    garden.start_worker()
    try:
        assert _until(lambda: "following the models folder" in garden.worker_log(), 90), garden.worker_log()
        whole = write_checkpoint(folder / "dropped.safetensors")
        cut = folder / "half.safetensors"
        cut.write_bytes(whole.read_bytes()[:-500])
        assert _until(lambda: _rows(garden.db).get("dropped") == (1, 1) and _rows(garden.db).get("half") == (1, 0), 30), (
            _rows(garden.db),
            garden.worker_log(),
        )
        whole.unlink()
        assert _until(lambda: _rows(garden.db).get("dropped") == (0, 1), 30), garden.worker_log()
    finally:
        garden.stop_worker()

    write_checkpoint(folder / "for-the-web.safetensors")
    web = garden.manage("shell", "-c", "from config.wsgi import application; import time; time.sleep(4)")
    assert web.returncode == 0 and "for-the-web" not in _rows(garden.db), (web.stdout, web.stderr)
