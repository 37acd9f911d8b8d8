"""The lean 1-step call (generation.backends.lean) on tiny CPU pipelines: its pixels against the
ordinary pipeline call's for the schedulers turbo models ship with, batches of several prompts and
seeds, the batches it leaves to the ordinary call, the prompt cache, the settings, the tiny
decoder (AutoencoderTiny with random weights) in its three forms, and SDXL-Turbo's conditioning (two
encoders, the pooled embedding, the added time ids) on a tiny SDXL pipeline.

The tolerance: floats within 2e-4 of the pipeline's ``output_type="pt"`` pictures, and the 8-bit
pictures at most one level apart. CUDA graphs (torch.compile's reduce-overhead mode) need a GPU:
bench/gpu_proof.py --only direct compares the graphed call with the ordinary one there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from generation.backends import BackendError, Batch, lean, tiny_vae
from generation.backends.diffusion import DiffusersBackend
from testkit.tiny_pipeline import build_tiny_pipeline

# The tests without django_db are pure computation on tiny CPU pipelines (no database, cache or
# broker of the run): backend_free, so CI runs them once; the three library tests are not.
torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

# SD-Turbo's scheduler (its scheduler_config.json) and the others a turbo model may ship with.
TURBO_SCHEDULER = {"timestep_spacing": "trailing", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}
SCHEDULERS = {
    "euler": ("EulerDiscreteScheduler", TURBO_SCHEDULER),
    "euler_a": ("EulerAncestralDiscreteScheduler", TURBO_SCHEDULER),
    "lcm": ("LCMScheduler", {**TURBO_SCHEDULER, "timestep_spacing": "leading"}),
    "ddim": ("DDIMScheduler", {**TURBO_SCHEDULER, "set_alpha_to_one": False, "steps_offset": 1, "clip_sample": False}),
}


def save_turbo(folder, scheduler: str = "euler"):
    pipeline = build_tiny_pipeline(seed=3)
    name, config = SCHEDULERS[scheduler]
    pipeline.scheduler = getattr(diffusers, name)(**config)
    pipeline.save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def turbo_dir(tmp_path_factory):
    return save_turbo(tmp_path_factory.mktemp("lean") / "tiny-turbo")


def batch(**fields) -> Batch:
    values = {"prompt": "a garden of glass flowers", "negative_prompt": "", "width": 64, "height": 64, "steps": 1, "guidance": 0.0}
    return Batch(**({"seeds": [7]} | values | fields))


def backend(model: str, lean_mode: str = "eager") -> DiffusersBackend:
    return DiffusersBackend(model=model, device="cpu", lean=lean_mode)


def ordinary(backend_: DiffusersBackend, batch_: Batch):
    """The pipeline's own call, as tensors (output_type="pt") and as the PIL pictures jobs store."""
    tensors = torch.stack(list(backend_.generate(replace(batch_, extra=batch_.extra | {"output_type": "pt"}))))
    pictures = np.stack([np.asarray(picture, dtype=np.int16) for picture in backend_.generate(batch_)])
    return tensors, pictures


def eight_bit(tensors) -> np.ndarray:
    """What diffusers' numpy_to_pil does to a 0…1 picture."""
    return (tensors.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.int16)


def assert_same_pictures(lean_tensors, tensors, pictures):
    assert lean_tensors.shape == tensors.shape and lean_tensors.dtype == torch.float32
    assert float((lean_tensors - tensors).abs().max()) <= 2e-4
    assert int(np.abs(eight_bit(lean_tensors) - pictures).max()) <= 1


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
@pytest.mark.backend_free
def test_the_lean_call_paints_the_pipeline_s_pixels_at_one_step(tmp_path, scheduler):
    painter = backend(save_turbo(tmp_path / scheduler, scheduler))
    one = batch(seeds=[7, 8, 9])
    tensors, pictures = ordinary(painter, one)
    assert painter.lean_call() is not None, painter.lean_reason
    assert_same_pictures(painter.generate_tensors(one), tensors, pictures)


@pytest.mark.backend_free
def test_euler_s_single_step_is_x0_from_sigma_max(turbo_dir):
    painter = backend(turbo_dir)
    painter.load()
    scheduler = painter.pipeline.scheduler
    scheduler.set_timesteps(1)
    step = lean.one_step(torch, scheduler)
    sigma = float(scheduler.sigmas[0])
    assert step["a"] == pytest.approx(1.0, abs=1e-6) and step["b"] == pytest.approx(-sigma, rel=1e-5)
    assert step["init_sigma"] * step["scale"] == pytest.approx(1.0, rel=5e-3)  # the UNet sees (nearly) the noise itself
    assert int(step["timestep"]) == 999


@pytest.mark.backend_free
def test_a_batch_of_several_prompts_is_each_picture_as_alone(turbo_dir):
    painter = backend(turbo_dir)
    prompts = ["a red tulip", "a blue lake at dusk", "a red tulip"]
    together = painter.generate_tensors(batch(seeds=[1, 2, 3], extra={"prompts": prompts}))
    for index, prompt in enumerate(prompts):
        alone = painter.generate_tensors(batch(prompt=prompt, seeds=[index + 1]))
        assert float((together[index] - alone[0]).abs().max()) <= 2e-4
    tensors, pictures = ordinary(painter, batch(seeds=[1, 2, 3], extra={"prompts": prompts}))
    assert_same_pictures(together, tensors, pictures)
    assert set(painter.lean_call()._embeds) == {"a red tulip", "a blue lake at dusk"}  # encoded once each


@pytest.mark.backend_free
def test_batches_the_lean_call_cannot_paint_take_the_ordinary_call_as_tensors(turbo_dir):
    painter = backend(turbo_dir)
    painter.load()
    for other, why in (
        (batch(steps=2), "2 steps"),
        (batch(guidance=2.0, negative_prompt="fog"), "guidance"),
        (batch(prompt="a (red:1.4) tulip"), "weighted"),
        (batch(sampler="euler_a"), "sampler"),
    ):
        assert why in lean.refusal(painter.pipeline, other)
        tensors, pictures = ordinary(painter, other)
        assert_same_pictures(painter.generate_tensors(other), tensors, pictures)


@pytest.mark.backend_free
def test_cpu_workers_keep_the_ordinary_call_unless_the_setting_forces_it(turbo_dir, monkeypatch):
    assert lean.wanted("auto", "cpu") == (False, False)
    assert lean.wanted("auto", "cuda:0") == (True, True)
    assert lean.wanted("eager", "cuda") == (True, False)
    assert lean.wanted("graphs", "cpu") == (True, False)
    assert lean.wanted("off", "cuda") == (False, False)
    painter = backend(turbo_dir, "auto")
    assert painter.lean_call() is None and painter.lean_reason == "GARDEN_DIFFUSION_LEAN=auto on cpu"
    calls = []
    monkeypatch.setattr(lean.LeanCall, "paint", lambda self, batch_: calls.append(batch_))
    assert painter.generate_tensors(batch()).shape == (1, 3, 64, 64)
    assert not calls  # the ordinary call painted it
    with pytest.raises(BackendError, match="GARDEN_DIFFUSION_LEAN"):
        DiffusersBackend(model=turbo_dir, device="cpu", lean="fast")


@pytest.mark.backend_free
def test_generate_still_returns_pil_pictures(turbo_dir):
    [picture] = backend(turbo_dir).generate(batch())
    assert picture.size == (64, 64) and picture.mode == "RGB"


@pytest.mark.backend_free
def test_the_prompt_cache_is_bounded(turbo_dir, monkeypatch):
    monkeypatch.setattr(lean, "PROMPT_CACHE", 3)
    painter = backend(turbo_dir)
    call = painter.lean_call()
    for number in range(5):
        call.embeddings([f"prompt {number}"])
    call.embeddings(["prompt 2"])
    assert list(call._embeds) == ["prompt 3", "prompt 4", "prompt 2"]


@pytest.mark.backend_free
def test_a_non_linear_step_keeps_the_ordinary_call(turbo_dir):
    clipped = diffusers.DDIMScheduler(**SCHEDULERS["ddim"][1] | {"clip_sample": True})
    assert lean.one_step(torch, clipped) is None


def small_tiny_decoder(seed: int = 0):
    torch.manual_seed(seed)
    return diffusers.AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    )


@pytest.mark.backend_free
def test_a_tiny_decoder_decodes_the_live_pictures_as_the_pipeline_would_with_it(turbo_dir, tmp_path):
    decoder = small_tiny_decoder()
    decoder.save_pretrained(str(tmp_path / "taesd"))
    assert tiny_vae.is_tiny(tmp_path / "taesd")
    painter = backend(turbo_dir)
    painter.use_live_decoder(str(tmp_path / "taesd"))
    one = batch(seeds=[4, 5])
    lean_tensors = painter.generate_tensors(one)
    reference = backend(turbo_dir)
    reference.load()
    reference.pipeline.vae = painter.live_decoder  # the pipeline with the tiny decoder as its VAE
    tensors, pictures = ordinary(reference, one)
    assert_same_pictures(lean_tensors, tensors, pictures)
    own, _ = ordinary(backend(turbo_dir), one)
    assert float((lean_tensors - own).abs().max()) > 0.01  # it really decoded with the tiny one


@pytest.mark.backend_free
def test_tiny_decoder_single_files_in_diffusers_and_taesd_keys(tmp_path, turbo_dir):
    from safetensors.torch import save_file

    decoder = diffusers.AutoencoderTiny()  # TAESD's architecture, random weights
    state = {key: value.contiguous() for key, value in decoder.state_dict().items()}
    save_file(state, str(tmp_path / "taesd.safetensors"))
    taesd = {f"{int(key.split('.')[2]) + 1}.{key.split('.', 3)[3]}": value for key, value in state.items() if key.startswith("decoder.")}
    save_file(taesd, str(tmp_path / "taesd_decoder.safetensors"))
    save_file({"model.weight": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    assert tiny_vae.is_tiny(tmp_path / "taesd.safetensors") and tiny_vae.is_tiny(tmp_path / "taesd_decoder.safetensors")
    assert not tiny_vae.is_tiny(tmp_path / "other.safetensors")
    painter = backend(turbo_dir)
    painter.load()
    latents = torch.randn(1, 4, 8, 8)
    expected = decoder.decode(latents).sample
    for name in ("taesd.safetensors", "taesd_decoder.safetensors"):
        loaded = tiny_vae.load(tmp_path / name, like=painter.pipeline.vae)
        assert torch.allclose(loaded.decode(latents).sample, expected, atol=1e-5)
    with pytest.raises(BackendError, match="tiny decoder"):
        tiny_vae.load(tmp_path / "other.safetensors", like=painter.pipeline.vae)


@pytest.mark.django_db
def test_the_live_worker_warms_its_model_with_the_entry_s_tiny_decoder(diffusers_settings, tmp_path):
    from generation import backends
    from library.models import LibraryEntry
    from library.services import entries as library_services

    save_turbo(tmp_path / "tiny-turbo")
    small_tiny_decoder().save_pretrained(str(tmp_path / "vae" / "taesd"))
    diffusers_settings.GARDEN_MODELS_DIR = str(tmp_path)
    diffusers_settings.GARDEN_DIFFUSION_LEAN = "eager"
    library_services.scan()
    assert LibraryEntry.objects.get(name="taesd").kind == LibraryEntry.Kind.VAE
    LibraryEntry.objects.filter(name="tiny-turbo").update(live_vae="taesd")
    try:
        done = lean.warm_live_model(model="tiny-turbo", width=64, height=64, sizes=(1, 2))
        assert done["lean"] and not done["graphs"] and done["decoder"].endswith("taesd")
        painter = backends.loaded_pipelines.get(str(tmp_path / "tiny-turbo"))
        assert backends.loaded_pipelines.pinned == str(tmp_path / "tiny-turbo")
        assert type(painter.lean_call().decoder).__name__ == "AutoencoderTiny"
        assert painter.generate_tensors(batch(seeds=[3])).shape == (1, 3, 64, 64)
    finally:
        backends.loaded_pipelines.reset()


@pytest.mark.backend_free
def test_graphed_batches_are_padded_to_a_warmed_size_cloned_and_replayed_only_from_the_warming_thread(turbo_dir, monkeypatch):
    """torch.compile stands aside (compiling takes minutes on a CPU: bench/gpu_proof.py runs the real
    graphs on a GPU); what is tested is what the lean call does around the compiled function."""
    import threading

    replays = []

    def compile_(function, **options):
        assert options == {"mode": "reduce-overhead", "fullgraph": True, "dynamic": False}

        def replay(noise, embeds):
            replays.append(len(noise))
            return function(noise, embeds)

        return replay

    monkeypatch.setattr(torch, "compile", compile_)
    painter = backend(turbo_dir)
    call = painter.lean_call()
    three = batch(seeds=[1, 2, 3], extra={"prompts": ["a", "b", "c"]})
    eager = call.paint(three)
    call.graphs = True
    call.warm(width=64, height=64, sizes=(1, 4))
    assert call._warmed == {(1, 8, 8), (4, 8, 8)}
    replays.clear()
    graphed = call.paint(three)
    assert replays == [4] and graphed.shape == (3, 3, 64, 64)  # padded to 4, the padding dropped
    assert float((graphed - eager).abs().max()) <= 1e-5
    call.paint(batch(seeds=[1, 2]))  # size 2 was not warmed: uncompiled
    assert replays == [4]
    other: list = []
    worker = threading.Thread(target=lambda: other.append(call.paint(three)))
    worker.start()
    worker.join()
    assert replays == [4] and float((other[0] - eager).abs().max()) <= 1e-5  # another thread: uncompiled


@pytest.mark.django_db
def test_install_model_puts_a_tiny_decoder_where_the_library_lists_it_as_a_vae(settings, tmp_path):
    from django.core.management import call_command
    from safetensors.torch import save_file

    from library.models import LibraryEntry

    state = {key: value.contiguous() for key, value in diffusers.AutoencoderTiny().state_dict().items()}
    save_file(state, str(tmp_path / "taesd.safetensors"))
    settings.GARDEN_MODELS_DIR = str(tmp_path / "models")
    (tmp_path / "models").mkdir()
    call_command("install_model", str(tmp_path / "taesd.safetensors"), "--kind", "vae", verbosity=0)
    entry = LibraryEntry.objects.get(name="taesd")
    assert entry.kind == LibraryEntry.Kind.VAE and entry.usable
    assert tiny_vae.is_tiny(tmp_path / "models" / entry.path)


@pytest.mark.django_db
def test_the_library_admin_takes_only_a_vae_of_the_library_as_the_live_vae(settings, tmp_path):
    from curation.admin.library import LibraryEntryForm
    from library.models import LibraryEntry

    settings.GARDEN_MODELS_DIR = str(tmp_path)
    model = LibraryEntry.objects.create(kind=LibraryEntry.Kind.PIPELINE, name="turbo", path="turbo")
    LibraryEntry.objects.create(kind=LibraryEntry.Kind.VAE, name="taesd", path="vae/taesd")
    assert "live_vae" in LibraryEntryForm(instance=model, data={"live_vae": "nothing"}).errors
    form = LibraryEntryForm(instance=model, data={"live_vae": "taesd"})
    assert form.is_valid(), form.errors
    assert form.save().live_vae == "taesd"


@pytest.mark.backend_free
def test_the_lean_call_paints_a_single_file_checkpoint_as_its_pipeline_does(tmp_path):
    """The layout venues download: one .safetensors with the original (LDM) keys."""
    from testkit.single_file import save_single_file

    pipeline = build_tiny_pipeline(seed=3)
    name, config = SCHEDULERS["euler"]
    pipeline.scheduler = getattr(diffusers, name)(**config)
    painter = backend(str(save_single_file(pipeline, tmp_path / "turbo.safetensors", configs_beside=True)))
    one = batch(seeds=[7, 8])
    tensors, pictures = ordinary(painter, one)
    assert painter.lean_call() is not None, painter.lean_reason
    assert_same_pictures(painter.generate_tensors(one), tensors, pictures)
    assert set(painter.lean_call()._embeds) == {one.prompt}  # painted by the lean call, not the fallback


@pytest.fixture(scope="module")
def sdxl_turbo_dir(tmp_path_factory):
    """A tiny SDXL pipeline with SD-Turbo's scheduler (SDXL-Turbo ships the same Euler, trailing)."""
    from testkit.tiny_models import build_sensitive_sdxl_pipeline

    pipeline = build_sensitive_sdxl_pipeline(seed=5)
    pipeline.scheduler = diffusers.EulerDiscreteScheduler(**TURBO_SCHEDULER)
    folder = tmp_path_factory.mktemp("lean-sdxl") / "tiny-sdxl-turbo"
    pipeline.save_pretrained(str(folder))
    return str(folder)


@pytest.mark.backend_free
def test_the_lean_call_paints_sdxl_turbo_as_its_pipeline_does(sdxl_turbo_dir):
    """Two text encoders, the pooled embedding and the added time ids: each picture its own prompt."""
    painter = backend(sdxl_turbo_dir)
    prompts = ["a red tulip", "a blue lake at dusk", "a red tulip"]
    several = batch(seeds=[4, 5, 6], extra={"prompts": prompts})
    tensors, pictures = ordinary(painter, several)
    assert painter.lean_call() is not None and painter.lean_call().sdxl, painter.lean_reason
    assert_same_pictures(painter.generate_tensors(several), tensors, pictures)
    assert set(painter.lean_call()._embeds) == {"a red tulip", "a blue lake at dusk"}  # painted by the lean call
    # The prompts matter through both encoders: another prompt, another picture.
    assert float((painter.generate_tensors(batch(prompt="a grey wall"))[0] - painter.generate_tensors(batch())[0]).abs().max()) > 0.01
