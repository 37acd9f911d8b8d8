"""The model library (docs/models.md): the scan, job validation, and jobs that switch models and
apply LoRAs on real tiny pipelines (testkit/tiny_library.py)."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from garden.services import read_file
from generation import backends, selectors, services
from generation.imagefile import read_parameters
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.requests.lora_tags import LoraSyntaxError, extract_loras, parse_lora_list
from generation.worker import runner
from library import selectors as library
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.tiny_library import EMBEDDING, LORA, PIPELINES, build_models_folder

pytestmark = pytest.mark.django_db
MODEL_A, MODEL_B = PIPELINES


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory):
    return build_models_folder(tmp_path_factory.mktemp("library"))


@pytest.fixture
def library_settings(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    diffusers_settings.GARDEN_DIFFUSION_MAX_LOADED = 2
    library_services.scan()
    return diffusers_settings


def pixels(job: GenerationJob) -> list[np.ndarray]:
    found = []
    for image in selectors.job_images(job):
        with PILImage.open(io.BytesIO(read_file(image.key))) as picture:
            found.append(np.asarray(picture.convert("RGB"), dtype=np.int16))
    return found


def run_job(**params) -> GenerationJob:
    request = {"prompt": "a garden of glass flowers", "width": 64, "height": 64, "steps": 2, "seed": 77, **params}
    job = services.create_job(request=JobRequest(**request), enqueue=False)
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return job


# --- the scan ------------------------------------------------------------------------------------


def test_the_scan_finds_pipelines_loras_and_embeddings(library_settings, models_folder):
    result = library_services.scan()

    found = {(entry.kind, entry.name): entry for entry in result.found}
    assert set(found) == {("pipeline", MODEL_A), ("pipeline", MODEL_B), ("lora", LORA), ("embedding", EMBEDDING)}
    assert result.skipped == [("notes/readme.safetensors", "not a model, LoRA, embedding, VAE or upscaler")]
    pipeline = LibraryEntry.objects.get(kind="pipeline", name=MODEL_A)
    assert (pipeline.family, pipeline.default_steps, pipeline.default_guidance, pipeline.default_width, pipeline.default_height) == (
        "sd1",
        25,
        7.0,
        512,
        512,
    )
    assert pipeline.path == MODEL_A and pipeline.present and pipeline.details["class_name"] == "StableDiffusionPipeline"
    assert pipeline.size_bytes == sum(path.stat().st_size for path in (models_folder / MODEL_A).rglob("*") if path.is_file())
    assert found[("lora", LORA)].path == f"loras/{LORA}.safetensors"
    assert found[("lora", LORA)].size_bytes == (models_folder / "loras" / f"{LORA}.safetensors").stat().st_size
    assert found[("embedding", EMBEDDING)].default_steps is None
    # The first pipeline found becomes the default; only one per kind.
    assert [entry.name for entry in LibraryEntry.objects.filter(is_default=True)] == [MODEL_A]
    assert library.default_pipeline().name == MODEL_A
    assert [entry.name for entry in library.pipelines()] == [MODEL_A, MODEL_B]
    assert library.listed_path(library.resolve_model(f"{MODEL_B} [0123abcd]")) == models_folder / MODEL_B


def test_a_rescan_marks_what_is_gone_keeps_the_default_by_name_and_keeps_curator_defaults(diffusers_settings, models_folder, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(models_folder, folder)
    diffusers_settings.GARDEN_MODELS_DIR = str(folder)
    library_services.scan()
    LibraryEntry.objects.filter(name=MODEL_B).update(default_steps=9)
    shutil.move(folder / MODEL_A, tmp_path / "aside")
    (folder / "loras" / f"{LORA}.safetensors").rename(folder / "loras" / "renamed.safetensors")

    result = library_services.scan()

    assert sorted(entry.name for entry in result.missing) == [LORA, MODEL_A]
    assert (result.added, sorted(result.lost)) == (["renamed (lora)"], [f"{LORA} (lora)", MODEL_A])
    gone = LibraryEntry.objects.get(name=MODEL_A)
    assert not gone.present and gone.missing_since is not None
    assert LibraryEntry.objects.get(kind="lora", name="renamed").present
    kept = LibraryEntry.objects.get(name=MODEL_B)
    assert kept.default_steps == 9 and not kept.is_default
    # The chosen default is remembered by name; a stand-in paints meanwhile, and everything says so.
    state = library.default_state()
    assert (state.chosen.name, state.used.name) == (MODEL_A, MODEL_B)
    assert f"The default model {MODEL_A} cannot be used: its file {MODEL_A} is gone" in state.problem
    assert result.default_note == state.problem and MODEL_B in result.default_note
    assert library.default_pipeline().name == MODEL_B
    assert [entry.name for entry in library.pipelines()] == [MODEL_B]
    with pytest.raises(library.UnusableEntry, match=f"LoRA '{LORA}' cannot be used: its file loras/{LORA}.safetensors is gone"):
        library.resolve_lora(LORA)

    shutil.move(tmp_path / "aside", folder / MODEL_A)  # the file is back: so is the default
    result = library_services.scan()

    assert result.added == [MODEL_A] and result.default_note.startswith(f"The default model {MODEL_A} is back")
    assert library.default_state().problem == "" and library.default_pipeline().name == MODEL_A


def _config_only_pipeline(folder, *, class_name="StableDiffusionPipeline", cross_attention=768, prediction="epsilon", readme=""):
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": cross_attention}))
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction}))
    if readme:
        (folder / "README.md").write_text(readme)


def test_families_and_their_defaults_come_from_the_configs(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    _config_only_pipeline(tmp_path / "sd15")
    _config_only_pipeline(tmp_path / "sd21", cross_attention=1024, prediction="v_prediction")
    _config_only_pipeline(tmp_path / "sd2-base", cross_attention=1024)
    _config_only_pipeline(tmp_path / "sdxl-base", class_name="StableDiffusionXLPipeline", cross_attention=2048)
    _config_only_pipeline(tmp_path / "sdxl-turbo", class_name="StableDiffusionXLPipeline", cross_attention=2048)
    _config_only_pipeline(tmp_path / "fast-draft", readme="# SD-Turbo\nA distilled model (adversarial diffusion distillation).")
    _config_only_pipeline(tmp_path / "nested" / "flux", class_name="FluxPipeline")
    _config_only_pipeline(tmp_path / "kandinsky", class_name="KandinskyV22Pipeline")

    library_services.scan()

    rows = {entry.name: entry for entry in LibraryEntry.objects.all()}
    families = {name: entry.family for name, entry in rows.items()}
    assert families == {
        "sd15": "sd1",
        "sd21": "sd2",
        "sd2-base": "sd2",
        "sdxl-base": "sdxl",
        "sdxl-turbo": "turbo",
        "fast-draft": "turbo",
        "flux": "flux",
        "kandinsky": "other",
    }
    defaults = {name: (e.default_steps, e.default_guidance, e.default_width, e.default_height) for name, e in rows.items()}
    assert defaults["sd21"] == (25, 7.0, 768, 768)
    assert defaults["sdxl-base"] == (30, 7.0, 1024, 1024)
    assert defaults["sdxl-turbo"] == (4, 0.0, 512, 512)
    assert defaults["flux"] == (28, 3.5, 1024, 1024)
    assert rows["flux"].path == "nested/flux"
    # A family this product cannot paint with is listed, not usable, with its reason, and never offered.
    assert [name for name, entry in rows.items() if not entry.usable] == ["kandinsky"]
    assert "KandinskyV22Pipeline model" in rows["kandinsky"].unusable_reason
    assert "kandinsky" not in set(library.pipelines().values_list("name", flat=True))


def test_a_models_folder_that_is_one_pipeline_is_a_library_of_one(settings, tmp_path):
    _config_only_pipeline(tmp_path / "only-sd15")
    settings.GARDEN_MODELS_DIR = str(tmp_path / "only-sd15")
    result = library_services.scan()
    assert [(entry.name, entry.path, entry.is_default) for entry in result.found] == [("only-sd15", ".", True)]
    assert library.listed_path(result.found[0]) == tmp_path / "only-sd15"


def test_without_a_models_folder_there_is_no_library(diffusers_settings, models_folder):
    diffusers_settings.GARDEN_MODELS_DIR = str(models_folder)
    library_services.scan()
    diffusers_settings.GARDEN_MODELS_DIR = ""

    assert library_services.scan().found == []
    assert not library.pipelines().exists() and library.default_pipeline() is None
    valid = JobRequest(prompt="garden", width=64, height=64).validate()
    assert valid.model == "" and valid.loras == [] and valid.steps == 2
    # The one model may be named as GARDEN_DIFFUSION_MODEL (what A1111 clients see listed).
    assert JobRequest(prompt="garden", model=diffusers_settings.GARDEN_DIFFUSION_MODEL).validate().model == ""
    with pytest.raises(JobParameterError) as caught:
        JobRequest(prompt="garden", model=MODEL_A).validate()
    assert "this site has no model library" in caught.value.fields["model"]


def test_a_missing_models_folder_is_a_clear_error(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path / "nowhere")
    with pytest.raises(library_services.LibraryError, match="GARDEN_MODELS_DIR"):
        library_services.scan()


def test_set_default_takes_a_name_or_a_title_and_refuses_unknown_models(library_settings):
    assert library_services.set_default(f"{MODEL_B} [deadbeef]").name == MODEL_B
    assert list(LibraryEntry.objects.filter(is_default=True).values_list("name", flat=True)) == [MODEL_B]
    assert JobRequest(prompt="garden").validate().model == MODEL_B

    with pytest.raises(library_services.EntryRefused) as caught:
        library_services.set_default("sd-9000")
    message = caught.value.fields["sd_model_checkpoint"]
    assert "'sd-9000'" in message and MODEL_A in message and MODEL_B in message


# --- the LoRA syntax -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "text", "loras"),
    [
        ("a garden <lora:ink:0.5>", "a garden", (("ink", 0.5),)),
        ("<lora:ink>, a garden, <LORA:wash:-1.25>, at dusk", "a garden, at dusk", (("ink", 1.0), ("wash", -1.25))),
        ("a garden", "a garden", ()),
        ("a <lora:ink:> garden", "a garden", (("ink", 1.0),)),
    ],
)
def test_lora_tags_are_taken_out_of_the_prompt(prompt, text, loras):
    assert extract_loras(prompt) == (text, loras)


def test_lora_syntax_errors_say_how_to_write_it():
    with pytest.raises(LoraSyntaxError, match="not a number"):
        extract_loras("a garden <lora:ink:strong>")
    assert parse_lora_list("ink:0.6, wash , ,x:-1") == (("ink", 0.6), ("wash", 1.0), ("x", -1.0))
    with pytest.raises(LoraSyntaxError, match="name:weight"):
        parse_lora_list("ink:lots")


# --- validation ----------------------------------------------------------------------------------


def test_jobs_take_the_model_defaults_unless_they_say_otherwise(library_settings):
    LibraryEntry.objects.filter(name=MODEL_B).update(default_steps=3, default_guidance=0.0, default_width=96, default_height=64)
    valid = JobRequest(prompt="garden", model=MODEL_B).validate()
    assert (valid.model, valid.steps, valid.guidance, valid.width, valid.height) == (MODEL_B, 3, 0.0, 96, 64)
    valid = JobRequest(prompt="garden", model=MODEL_B, steps=5, guidance=4.0, width=64, height=72).validate()
    assert (valid.steps, valid.guidance, valid.width, valid.height) == (5, 4.0, 64, 72)
    # Bulk jobs keep the kiosks' landscape size; steps and guidance still follow the model.
    bulk = JobRequest(kind="bulk", emotion="calm", model=MODEL_B).validate()
    assert (bulk.width, bulk.height, bulk.steps) == (1280, 800, 3)


def test_prompt_loras_options_and_their_bounds(library_settings):
    valid = JobRequest(
        prompt=f"glass flowers, <lora:{LORA}:0.5>",
        loras=((LORA, 0.8),),
        sampler="euler",
        clip_skip=2,
        subseed=5,
        subseed_strength=0.25,
    ).validate()
    assert valid.prompt == "glass flowers"
    assert valid.loras == [{"name": LORA, "weight": 0.5}]  # the prompt's tag comes last and wins
    # The LoRA's short hash (A1111's) is recorded with the job for its pictures' parameters.
    lora_hash = LibraryEntry.objects.get(kind="lora", name=LORA).short_hash
    assert len(lora_hash) == 10
    model_hash = valid.options.pop("model_hash")
    assert len(model_hash) == 10  # the folder model's manifest digest: A1111 names every model by one
    assert valid.options == {"sampler": "euler", "clip_skip": 2, "subseed": 5, "subseed_strength": 0.25, "lora_hashes": {LORA: lora_hash}}
    assert JobRequest(prompt="garden").validate().options == {"model_hash": model_hash}

    bad = {
        "sampler": {"sampler": "warp-drive"},
        "clip_skip": {"clip_skip": 13},
        "subseed": {"subseed": 2**32},
        "subseed_strength": {"subseed_strength": 1.5},
        "loras": {"loras": ((LORA, 9.0),)},
        "prompt": {"prompt": f"<lora:{LORA}:0.5>"},
    }
    for field, params in bad.items():
        with pytest.raises(JobParameterError) as caught:
            JobRequest(**{"prompt": "garden", **params}).validate()
        assert set(caught.value.fields) == {field}, (field, caught.value.fields)


def test_a_lora_of_another_family_is_refused_before_queueing(library_settings):
    LibraryEntry.objects.filter(kind="lora").update(family="sdxl")
    with pytest.raises(JobParameterError) as caught:
        JobRequest(prompt=f"garden <lora:{LORA}:0.5>", model=MODEL_A).validate()
    assert caught.value.fields == {"loras": f"LoRA '{LORA}' is for SDXL; the model '{MODEL_A}' is SD 1.x."}
    LibraryEntry.objects.filter(name=MODEL_A).update(family="sdxl")
    assert JobRequest(prompt=f"garden <lora:{LORA}:0.5>", model=MODEL_A).validate().loras == [{"name": LORA, "weight": 0.5}]


def test_models_and_loras_need_the_diffusers_backend(library_settings):
    with pytest.raises(JobParameterError) as caught:
        JobRequest(prompt=f"garden <lora:{LORA}>", model=MODEL_A, backend="procedural").validate()
    assert set(caught.value.fields) == {"model", "loras"}
    assert "procedural" in caught.value.fields["model"]
    assert JobRequest(prompt="garden", backend="procedural").validate().model == ""


def test_retouch_jobs_take_library_models_and_refuse_unknown_ones_and_unknown_loras(library_settings):
    # Their LoRAs are applied (tests/retouch/test_retouch_loras.py); a library model named paints them
    # (A1111's img2img model choice: tests/a1111/test_a1111_img2img_model.py).
    with pytest.raises(JobParameterError) as caught:
        JobRequest(kind="retouch", prompt="garden <lora:sd-9000>", model=MODEL_A).validate()
    assert "sd-9000" in caught.value.fields["loras"] and "model" not in caught.value.fields
    with pytest.raises(JobParameterError) as caught:
        JobRequest(kind="retouch", prompt="garden", model="sd-9000").validate()
    assert "sd-9000" in caught.value.fields["model"]
    with pytest.raises(JobParameterError) as caught:
        JobRequest(kind="retouch", prompt="garden", sampler="euler", subseed_strength=0.5).validate()
    assert {"sampler", "subseed_strength"} <= set(caught.value.fields)


def test_unknown_models_and_loras_are_400s_naming_them(library_settings, token_client, no_enqueue):
    response = token_client.post("/api/v1/jobs", {"prompt": "garden", "model": "sd-9000"}, format="json")
    assert response.status_code == 400, response.content
    assert "sd-9000" in json.dumps(response.json()) and MODEL_A in json.dumps(response.json())

    response = token_client.post("/api/v1/jobs", {"prompt": "garden <lora:nope:0.5>"}, format="json")
    assert response.status_code == 400 and "'nope'" in json.dumps(response.json()) and LORA in json.dumps(response.json())

    response = token_client.post("/api/v1/jobs", {"prompt": "garden", "loras": [{"name": "nope"}]}, format="json")
    assert response.status_code == 400 and "'nope'" in json.dumps(response.json())
    assert not GenerationJob.objects.exists()

    response = token_client.post(
        "/api/v1/jobs",
        {"prompt": "garden", "width": 64, "height": 64, "model": MODEL_B, "loras": [{"name": LORA, "weight": 0.5}]},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["model"] == MODEL_B and body["loras"] == [{"name": LORA, "weight": 0.5}]
    job = GenerationJob.objects.get()
    assert job.model_id == str(library.listed_path(library.resolve_model(MODEL_B)))


def test_text2image_takes_an_optional_model(library_settings, token_client, no_enqueue):
    response = token_client.post("/text2image", {"text": "garden", "model": "sd-9000"}, format="json")
    assert response.status_code == 400 and "sd-9000" in json.dumps(response.json())
    assert not GenerationJob.objects.exists()


# --- jobs on the real tiny pipelines -------------------------------------------------------------


def test_each_model_paints_its_own_picture(library_settings, models_folder):
    first = run_job(model=MODEL_A)
    second = run_job(model=MODEL_B)
    default = run_job()

    assert (first.model, second.model, default.model) == (MODEL_A, MODEL_B, MODEL_A)
    assert np.abs(pixels(first)[0] - pixels(second)[0]).max() > 10
    assert np.array_equal(pixels(first)[0], pixels(default)[0])
    image = selectors.job_images(second)[0]
    embedded = read_parameters(read_file(image.key))
    assert second.model_id == str(library_settings.GARDEN_MODELS_DIR + "/" + MODEL_B)  # the worker's path, never served
    assert embedded["model"] == embedded["model_id"] == MODEL_B
    assert image.model_id == second.model_id


def test_a_lora_changes_the_picture_and_weight_zero_or_none_does_not(library_settings):
    base = pixels(run_job(model=MODEL_A))[0]
    styled_job = run_job(model=MODEL_A, prompt=f"a garden of glass flowers <lora:{LORA}:1>")
    styled = pixels(styled_job)[0]
    zero = pixels(run_job(model=MODEL_A, loras=((LORA, 0.0),)))[0]
    after = pixels(run_job(model=MODEL_A))[0]  # the LoRA does not outlive its job

    assert np.abs(styled - base).max() > 10
    assert np.array_equal(zero, base)
    assert np.array_equal(after, base)
    assert styled_job.prompt == "a garden of glass flowers" and styled_job.loras == [{"name": LORA, "weight": 1.0}]
    embedded = read_parameters(read_file(selectors.job_images(styled_job)[0].key))
    assert embedded["loras"] == [{"name": LORA, "weight": 1.0}]


def test_a_sampler_is_for_its_job_only(library_settings):
    base = run_job(model=MODEL_A, steps=3)
    euler = run_job(model=MODEL_A, steps=3, sampler="euler")
    again = run_job(model=MODEL_A, steps=3)

    assert (base.scheduler, euler.scheduler, again.scheduler) == ("DDIMScheduler", "EulerDiscreteScheduler", "DDIMScheduler")
    assert not np.array_equal(pixels(base)[0], pixels(euler)[0])
    assert np.array_equal(pixels(base)[0], pixels(again)[0])


def test_pipelines_beyond_max_loaded_are_dropped_least_recent_first(library_settings, models_folder):
    library_settings.GARDEN_DIFFUSION_MAX_LOADED = 1
    backends.loaded_pipelines.reset()
    path_a, path_b = str(models_folder / MODEL_A), str(models_folder / MODEL_B)

    first = run_job(model=MODEL_A)
    backend_a = backends.get_backend(backends.DIFFUSERS, model=path_a)
    assert backends.loaded_pipelines.loaded() == [path_a]
    run_job(model=MODEL_B)
    assert backends.loaded_pipelines.loaded() == [path_b]
    assert backend_a.pipeline is None  # evicted: its weights are released
    again = run_job(model=MODEL_A)
    assert backends.loaded_pipelines.loaded() == [path_a]
    assert np.array_equal(pixels(first)[0], pixels(again)[0])

    library_settings.GARDEN_DIFFUSION_MAX_LOADED = 2
    run_job(model=MODEL_B)
    assert backends.loaded_pipelines.loaded() == [path_a, path_b]
    # Callers without a model (the retouch engine) still get GARDEN_DIFFUSION_MODEL's pipeline.
    assert backends.get_backend(backends.DIFFUSERS).model_id == library_settings.GARDEN_DIFFUSION_MODEL


def test_the_runner_gives_the_batch_its_library_files_and_options(library_settings, models_folder, monkeypatch):
    """What the conditioning (generation.backends.conditioning) reads: embeddings named in the prompt,
    CLIP skip, and one variation seed per image (subseed + n, as seeds are seed + n)."""
    seen = []

    def record(self, batch, *, on_step=None):
        seen.append(batch)
        return [PILImage.new("RGB", (batch.width, batch.height)) for _ in batch.seeds]

    from generation.backends.diffusion import DiffusersBackend

    monkeypatch.setattr(DiffusersBackend, "generate", record)
    prompt = f"a garden in {EMBEDDING} style <lora:{LORA}:0.7>"
    run_job(model=MODEL_B, prompt=prompt, subseed=10, subseed_strength=0.5, clip_skip=2, count=2)

    batch = seen[0]
    assert batch.extra["embeddings"] == [(EMBEDDING, str(models_folder / "embeddings" / f"{EMBEDDING}.safetensors"))]
    assert batch.extra["lora_paths"] == {LORA: str(models_folder / "loras" / f"{LORA}.safetensors")}
    assert (batch.model, batch.loras, batch.prompt) == (MODEL_B, ((LORA, 0.7),), f"a garden in {EMBEDDING} style")
    assert (batch.clip_skip, batch.seeds, batch.subseeds, batch.subseed_strength) == (2, [77, 78], [10, 11], 0.5)


def test_manage_py_scan_models_and_generate_with_a_model_and_a_lora(library_settings, capsys):
    call_command("scan_models")
    out = capsys.readouterr().out
    assert f"model     {MODEL_A} (default): sd1" in out and "25 steps, cfg 7, 512x512" in out
    assert f"lora      {LORA}" in out and "skipped   notes/readme.safetensors" in out

    call_command(
        "generate",
        "--prompt",
        "glass",
        "--model",
        MODEL_B,
        "--lora",
        f"{LORA}:0.5",
        "--width",
        "64",
        "--height",
        "64",
        "--steps",
        "2",
        "--inline",
    )
    job = GenerationJob.objects.get()
    assert (job.status, job.model, job.loras) == ("succeeded", MODEL_B, [{"name": LORA, "weight": 0.5}])


def test_adapters_beyond_the_cap_are_dropped_and_a_bad_lora_fails_only_its_job(diffusers_settings, models_folder, tmp_path, monkeypatch):
    from safetensors.numpy import save_file

    from generation.backends import loras
    from testkit.tiny_library import save_tiny_lora

    folder = tmp_path / "models"
    shutil.copytree(models_folder, folder)
    save_tiny_lora(folder / "loras" / "tiny-wash.safetensors", seed=1)
    wrong = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.lora.{}.weight"
    save_file(
        {wrong.format("down"): np.ones((4, 99), np.float32), wrong.format("up"): np.ones((64, 4), np.float32)},
        str(folder / "loras" / "misfit.safetensors"),
    )
    diffusers_settings.GARDEN_MODELS_DIR = str(folder)
    library_services.scan()
    monkeypatch.setattr(loras, "MAX_ADAPTERS", 1)

    ink = pixels(run_job(model=MODEL_A, loras=((LORA, 1.0),)))[0]
    wash = pixels(run_job(model=MODEL_A, loras=(("tiny-wash", 1.0),)))[0]
    backend = backends.get_backend(backends.DIFFUSERS, model=str(folder / MODEL_A))
    assert list(loras.adapters_for(backend.pipeline)._adapters) == [str(folder / "loras" / "tiny-wash.safetensors")]
    again = pixels(run_job(model=MODEL_A, loras=((LORA, 1.0),)))[0]
    assert np.abs(ink - wash).max() > 10 and np.array_equal(ink, again)

    request = JobRequest(prompt="garden", width=64, height=64, steps=2, seed=77, model=MODEL_A, loras=(("misfit", 1.0),))
    failed = runner.execute_job(job_id=services.create_job(request=request, enqueue=False).pk)
    assert failed.status == GenerationJob.Status.FAILED and "Cannot load the LoRA 'misfit'" in failed.error
    assert np.array_equal(pixels(run_job(model=MODEL_A, loras=((LORA, 1.0),)))[0], ink)
