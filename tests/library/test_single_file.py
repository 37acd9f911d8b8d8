"""Single-file checkpoints (docs/models.md): the family read from the header alone, pickles read for
shapes without running them, hashes computed once per file, the install's record, and tiny
checkpoints in the original layout painting what their diffusers folders paint (real jobs)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from generation.backends import checkpoints as loader
from library import checkpoints
from library import selectors as library
from library.models import LibraryEntry
from library.services import entries as library_services
from testkit.single_file import save_single_file
from tests.library.test_library import pixels, run_job

pytestmark = pytest.mark.django_db
UNET = "model.diffusion_model."
SD1_TEXT = "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"
SD2_TEXT = "cond_stage_model.model.token_embedding.weight"
XL_TEXTS = (
    "conditioner.embedders.0.transformer.text_model.embeddings.position_embedding.weight",
    "conditioner.embedders.1.model.positional_embedding",
)


def write_header_only(path: Path, shapes: dict[str, list[int]], metadata: dict | None = None) -> Path:
    """A safetensors header naming ``shapes``, without the weights: the scan reads no further."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    for name, shape in shapes.items():
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [0, 0]}
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    return path


def unet(in_channels: int = 4) -> dict[str, list[int]]:
    return {UNET + "input_blocks.0.0.weight": [320, in_channels, 3, 3], UNET + "out.2.weight": [4, 320, 3, 3]}


HEADERS = {
    # file name: (shapes, family, usable, config)
    "dreamshaper_8.safetensors": ({**unet(), SD1_TEXT: [77, 768]}, "sd1", True, "sd1"),
    "v2-1_768-ema-pruned.safetensors": ({**unet(), SD2_TEXT: [49408, 1024]}, "sd2", True, "sd2-v"),
    "v2-1_512-base.safetensors": ({**unet(), SD2_TEXT: [49408, 1024]}, "sd2", True, "sd2"),
    "sd_turbo.safetensors": ({**unet(), SD2_TEXT: [49408, 1024]}, "turbo", True, "sd-turbo"),
    "sd_xl_base_1.0.safetensors": ({**unet(), **{key: [77, 768] for key in XL_TEXTS}}, "sdxl", True, "sdxl"),
    "sd_xl_turbo_1.0_fp16.safetensors": ({**unet(), **{key: [77, 768] for key in XL_TEXTS}}, "turbo", True, "sdxl-turbo"),
    "sd-v1-5-inpainting.safetensors": ({**unet(9), SD1_TEXT: [77, 768]}, "sd1", False, "sd1-inpaint"),
    "sd_xl_refiner_1.0.safetensors": ({**unet(), "conditioner.embedders.0.model.positional_embedding": [77, 1280]}, "sdxl", False, ""),
    "flux1-dev.safetensors": ({"double_blocks.0.img_attn.qkv.weight": [9216, 3072]}, "flux", False, ""),
    "sd3.5_medium.safetensors": ({"model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": [4608, 1536]}, "sd3", False, ""),
}


@pytest.mark.parametrize("name", HEADERS)
def test_a_checkpoints_family_comes_from_its_header(tmp_path, name):
    shapes, family, usable, config = HEADERS[name]
    path = write_header_only(tmp_path / name, shapes)
    found = checkpoints.classify(path, checkpoints.read_header(path))
    assert (found.kind, found.family, found.config) == ("pipeline", family, config)
    assert found.usable or found.reason  # what cannot run says why
    if not usable and "inpaint" not in name:
        assert not found.usable


def test_an_a1111_yaml_beside_an_sd2_checkpoint_says_v_or_epsilon(tmp_path):
    path = write_header_only(tmp_path / "my-sd2.safetensors", {**unet(), SD2_TEXT: [49408, 1024]})
    assert checkpoints.classify(path, checkpoints.read_header(path)).config == "sd2-v"  # 2.1 768-v: the common one
    path.with_suffix(".yaml").write_text("model:\n  params:\n    parameterization: eps\n")
    assert checkpoints.classify(path, checkpoints.read_header(path)).config == "sd2"


def test_the_scan_lists_what_cannot_paint_with_its_reason(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    for name in ("dreamshaper_8.safetensors", "sd-v1-5-inpainting.safetensors", "flux1-dev.safetensors"):
        write_header_only(tmp_path / name, HEADERS[name][0])
    write_header_only(tmp_path / "loras" / "loha.safetensors", {"lora_unet_mid_block_attentions_0_proj_in.hada_w1_a": [8, 320]})
    write_header_only(
        tmp_path / "vae" / "sdxl_vae.safetensors",
        {"encoder.down.0.block.0.conv1.weight": [128, 128, 3, 3], "decoder.up.0.block.0.conv1.weight": [128, 128, 3, 3]},
    )
    rrdbnet = {"conv_first.weight": [8, 3, 3, 3], "body.0.rdb1.conv1.weight": [4, 8, 3, 3], "conv_body.weight": [8, 8, 3, 3]}
    rrdbnet |= {
        "conv_up1.weight": [8, 8, 3, 3],
        "conv_up2.weight": [8, 8, 3, 3],
        "conv_hr.weight": [8, 8, 3, 3],
        "conv_last.weight": [3, 8, 3, 3],
    }
    write_header_only(tmp_path / "upscalers" / "4x-tiny.safetensors", rrdbnet)
    write_header_only(tmp_path / "upscalers" / "swinir.safetensors", {"layers.0.residual_group.blocks.0.attn.qkv.weight": [180, 60]})

    result = library_services.scan()

    rows = {(entry.kind, entry.name): entry for entry in result.found}
    assert set(rows) == {
        ("pipeline", "dreamshaper_8"), ("pipeline", "sd-v1-5-inpainting"), ("pipeline", "flux1-dev"),
        ("lora", "loha"), ("vae", "sdxl_vae"), ("upscaler", "4x-tiny"), ("upscaler", "swinir"),
    }  # fmt: skip
    unusable = {name: entry.unusable_reason for (kind, name), entry in rows.items() if not entry.usable}
    assert set(unusable) == {"sd-v1-5-inpainting", "flux1-dev", "loha", "swinir"}
    assert "Not an ESRGAN-family" in unusable["swinir"] and rows[("upscaler", "4x-tiny")].details["scale"] == 4
    assert "inpainting" in unusable["sd-v1-5-inpainting"]
    assert "install_model black-forest-labs/FLUX.1-schnell" in unusable["flux1-dev"]
    assert "LyCORIS" in unusable["loha"]
    # Jobs are offered only what paints; the default is a usable model.
    assert list(library.pipelines().values_list("name", flat=True)) == ["dreamshaper_8"]
    assert list(library.loras()) == []
    assert library.default_pipeline().name == "dreamshaper_8"
    assert [entry.name for entry in library.vaes()] == ["sdxl_vae"] and [entry.name for entry in library.upscalers()] == ["4x-tiny"]


# --- pickles ----------------------------------------------------------------------------------------


class Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_ckpt_is_read_for_shapes_only_and_usable_only_when_allowed(settings, tmp_path):
    import torch

    settings.GARDEN_MODELS_DIR = str(tmp_path)
    state = {UNET + "input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3), SD1_TEXT: torch.zeros(77, 8)}
    torch.save({"state_dict": state, "global_step": 470000}, tmp_path / "old-model.ckpt")
    # A pickle that runs a command when really unpickled: the scan never runs it.
    marker = tmp_path / "ran"
    with zipfile.ZipFile(tmp_path / "trap.ckpt", "w") as archive:
        archive.writestr("trap/data.pkl", pickle.dumps({"state_dict": {SD1_TEXT: Exploit(marker)}}))

    rows = {entry.name: entry for entry in library_services.scan().found}

    assert not marker.exists()
    assert rows["old-model"].family == "sd1" and not rows["old-model"].usable
    assert "convert_checkpoint" in rows["old-model"].unusable_reason and "GARDEN_MODELS_ALLOW_CKPT" in rows["old-model"].unusable_reason
    settings.GARDEN_MODELS_ALLOW_CKPT = True
    rows = {entry.name: entry for entry in library_services.scan().found}
    assert rows["old-model"].usable and not marker.exists()


# --- identity ---------------------------------------------------------------------------------------


def test_a_files_hash_is_computed_once_per_size_and_modification_time(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    path = write_header_only(tmp_path / "dreamshaper_8.safetensors", HEADERS["dreamshaper_8.safetensors"][0])
    path.write_bytes(path.read_bytes() + b"\0" * 1000)  # weights of a kind
    library_services.scan()
    entry = LibraryEntry.objects.get(name="dreamshaper_8")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (entry.sha256, entry.short_hash) == (sha256, sha256[:10])

    # Same size and modification time: the rescan trusts the stored hash (it reads headers only).
    stat = path.stat()
    path.write_bytes(path.read_bytes()[:-1] + b"\1")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    library_services.scan()
    assert LibraryEntry.objects.get(name="dreamshaper_8").sha256 == sha256
    # A changed file is hashed again.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    library_services.scan()
    assert LibraryEntry.objects.get(name="dreamshaper_8").sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != sha256


def test_an_installs_record_gives_the_source_and_spares_the_hash(settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    path = write_header_only(tmp_path / "dreamshaper_8.safetensors", HEADERS["dreamshaper_8.safetensors"][0])
    stat = path.stat()
    recorded = "ab" * 32  # what install_model computed while downloading (not recomputed while size and time match)
    record = {
        "source": "https://example.org/dreamshaper_8.safetensors",
        "sha256": recorded,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    path.with_name(path.name + ".source.json").write_text(json.dumps(record))
    library_services.scan()
    entry = LibraryEntry.objects.get(name="dreamshaper_8")
    assert (entry.source, entry.sha256, entry.short_hash) == (record["source"], recorded, recorded[:10])


# --- the CLIP vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(path.name for path in checkpoints.CONFIGS.iterdir()))
def test_every_shipped_config_gets_clips_own_tokenizer(folder):
    from transformers import CLIPTokenizer

    prepared = loader.prepared_config(checkpoints.CONFIGS / folder)
    tokenizer = CLIPTokenizer.from_pretrained(str(prepared / "tokenizer"), local_files_only=True)
    assert len(tokenizer) == 49408
    # OpenAI CLIP's ids: <|startoftext|> a photo of a cat <|endoftext|>
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


# --- painting -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def single_file_library(tmp_path_factory):
    """A library holding a tiny SD 1.x pipeline twice: as a diffusers folder and as one file."""
    from testkit.tiny_pipeline import build_tiny_pipeline

    root = tmp_path_factory.mktemp("single-file-library")
    pipeline = build_tiny_pipeline(seed=3)
    pipeline.save_pretrained(str(root / "folder-twin"))
    save_single_file(pipeline, root / "one-file.safetensors", configs_beside=True)
    return root


@pytest.mark.slow
def test_a_single_file_checkpoint_paints_what_its_folder_twin_paints(diffusers_settings, single_file_library):
    diffusers_settings.GARDEN_MODELS_DIR = str(single_file_library)
    library_services.scan()
    entry = LibraryEntry.objects.get(name="one-file")
    assert (entry.family, entry.usable, entry.details["format"]) == ("sd1", True, "safetensors")
    assert entry.short_hash == hashlib.sha256((single_file_library / "one-file.safetensors").read_bytes()).hexdigest()[:10]

    twin = pixels(run_job(model="folder-twin", guidance=7.0))
    single = run_job(model="one-file", guidance=7.0)
    assert np.array_equal(pixels(single)[0], twin[0])
    assert single.options["model_hash"] == entry.short_hash

    # Without a library, the same file as GARDEN_DIFFUSION_MODEL.
    diffusers_settings.GARDEN_MODELS_DIR = ""
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(single_file_library / "one-file.safetensors")
    assert np.array_equal(pixels(run_job(guidance=7.0))[0], twin[0])


@pytest.mark.slow
def test_a_ckpt_loads_only_when_allowed_and_converts_without_running_code(settings, single_file_library, tmp_path):
    import shutil

    import diffusers
    import torch
    from django.core.management import CommandError, call_command
    from safetensors.torch import load_file

    from generation.backends import ModelUnavailable

    state = load_file(single_file_library / "one-file.safetensors")
    ckpt = tmp_path / "old.ckpt"
    torch.save({"state_dict": state, "global_step": 1}, ckpt)
    shutil.copytree(single_file_library / "one-file.config", tmp_path / "old.config")
    settings.GARDEN_MODELS_ALLOW_CKPT = False
    with pytest.raises(ModelUnavailable, match="GARDEN_MODELS_ALLOW_CKPT"):
        loader.load_text_to_image(diffusers, str(ckpt), dtype=torch.float32, offline=True)
    settings.GARDEN_MODELS_ALLOW_CKPT = True
    pipeline = loader.load_text_to_image(diffusers, str(ckpt), dtype=torch.float32, offline=True)
    assert torch.equal(pipeline.unet.conv_in.weight, state[UNET + "input_blocks.0.0.weight"])

    settings.GARDEN_MODELS_DIR = ""
    call_command("convert_checkpoint", str(ckpt))
    converted = load_file(tmp_path / "old.safetensors")
    assert converted.keys() == state.keys() and all(torch.equal(converted[key], state[key]) for key in state)
    # A pickle naming anything but tensors is refused by torch's weights_only unpickler: nothing runs.
    marker = tmp_path / "ran"
    torch.save({"state_dict": {"x": Exploit(marker)}}, tmp_path / "trap.ckpt")
    with pytest.raises(CommandError, match="cannot be read safely"):
        call_command("convert_checkpoint", str(tmp_path / "trap.ckpt"))
    assert not marker.exists() and not (tmp_path / "trap.safetensors").exists()


def build_tiny_sdxl(seed: int = 0):
    """A tiny SDXL whose two text encoders differ in width, as the real ones do (768 and 1280):
    the original layout tells them apart by position and width."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from testkit.tiny_models import build_tiny_tokenizer

    def text(width: int, activation: str) -> CLIPTextConfig:
        return CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=width,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=1000,
            max_position_embeddings=77,
            projection_dim=width,
            hidden_act=activation,
        )

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=6 * 8 + 48,
        cross_attention_dim=32 + 48,
        norm_num_groups=16,
    )
    from testkit.tiny_pipeline import tiny_vae

    return StableDiffusionXLPipeline(
        vae=tiny_vae(64),
        text_encoder=CLIPTextModel(text(32, "quick_gelu")),
        tokenizer=build_tiny_tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(text(48, "gelu")),
        tokenizer_2=build_tiny_tokenizer(),
        unet=unet,
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1),
    )


def build_tiny_sd2(seed: int = 0):
    """A tiny SD 2.x: the tiny SD pipeline with an OpenCLIP-style (gelu) text encoder."""
    import torch
    from transformers import CLIPTextModel

    from testkit.tiny_pipeline import build_tiny_pipeline

    pipeline = build_tiny_pipeline(seed)
    config = pipeline.text_encoder.config
    config.hidden_act = "gelu"
    torch.manual_seed(seed + 100)
    pipeline.text_encoder = CLIPTextModel(config)
    return pipeline


@pytest.mark.slow
@pytest.mark.backend_free
@pytest.mark.parametrize(
    ("build", "family", "pipeline_class"),
    [(build_tiny_sd2, "sd2", "StableDiffusionPipeline"), (build_tiny_sdxl, "sdxl", "StableDiffusionXLPipeline")],
)
def test_sd2_and_sdxl_single_files_load_as_their_folders(tmp_path, build, family, pipeline_class):
    import diffusers
    import torch

    pipeline = build()
    pipeline.save_pretrained(str(tmp_path / "twin"))
    path = save_single_file(pipeline, tmp_path / f"tiny-{family}.safetensors", configs_beside=True)
    assert checkpoints.classify(path, checkpoints.read_header(path)).family == family

    def paint(model):
        generator = torch.Generator().manual_seed(5)
        return model("a flower", num_inference_steps=2, height=64, width=64, generator=generator, output_type="np").images[0]

    twin = diffusers.AutoPipelineForText2Image.from_pretrained(str(tmp_path / "twin"), local_files_only=True)
    single = loader.load_text_to_image(diffusers, str(path), dtype=torch.float32, offline=True)
    assert type(single).__name__ == pipeline_class
    assert np.abs(paint(single) - paint(twin)).max() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the job is sent on commit and run eagerly
def test_a1111_lists_a_single_file_with_its_hash_and_paints_with_it(
    diffusers_settings, single_file_library, django_user_model, eager_celery
):
    import base64

    from rest_framework.test import APIClient

    diffusers_settings.GARDEN_MODELS_DIR = str(single_file_library)
    library_services.scan()
    short = LibraryEntry.objects.get(name="one-file").short_hash
    django_user_model.objects.create_user("a1111", password="pw-a1111-1", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"a1111:pw-a1111-1").decode())
    listed = {model["model_name"]: model for model in client.get("/sdapi/v1/sd-models").json()}
    assert listed["one-file"]["title"] == f"one-file [{short}]" and listed["one-file"]["hash"] == short
    twin = LibraryEntry.objects.get(name="folder-twin")  # a folder: its manifest's digest, as A1111 always lists a hash
    assert (
        listed["folder-twin"]["hash"] == twin.manifest_sha256[:10]
        and listed["folder-twin"]["title"] == f"folder-twin [{twin.manifest_sha256[:10]}]"
    )
    body = {"prompt": "a red flower", "seed": 42, "steps": 2, "width": 64, "height": 64}
    answer = client.post("/sdapi/v1/txt2img", {**body, "override_settings": {"sd_model_checkpoint": f"one-file [{short}]"}}, format="json")
    assert answer.status_code == 200, answer.content
    info = json.loads(answer.json()["info"])
    assert (info["sd_model_name"], info["sd_model_hash"]) == ("one-file", short)
    assert f"Model hash: {short}" in info["infotexts"][0]


@pytest.mark.slow
@pytest.mark.backend_free
def test_an_inpainting_checkpoint_file_loads_for_retouching_and_not_for_text(tmp_path):
    import diffusers
    import torch
    from PIL import Image

    from generation.backends import ModelUnavailable
    from tests.retouch.tiny_retouch import save_inpaint_pipeline

    twin = diffusers.AutoPipelineForInpainting.from_pretrained(str(save_inpaint_pipeline(tmp_path / "twin")), local_files_only=True)
    path = save_single_file(twin, tmp_path / "tiny-inpainting.safetensors", configs_beside=True)
    assert checkpoints.classify(path, checkpoints.read_header(path)).inpaint
    with pytest.raises(ModelUnavailable, match="inpainting model"):
        loader.load_text_to_image(diffusers, str(path), dtype=torch.float32, offline=True)
    single = loader.load_inpainting(diffusers, str(path), dtype=torch.float32, offline=True)
    picture, mask = Image.new("RGB", (64, 64), (200, 40, 40)), Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))

    def paint(model):
        generator = torch.Generator().manual_seed(2)
        return model("a flower", image=picture, mask_image=mask, num_inference_steps=2, generator=generator, output_type="np").images[0]

    assert np.abs(paint(single) - paint(twin)).max() == 0


@pytest.mark.slow
def test_a_single_file_paints_a_hires_fix_as_its_folder_twin(diffusers_settings, single_file_library):
    """The second pass (image-to-image made with from_pipe) works on a pipeline loaded from one file."""
    diffusers_settings.GARDEN_MODELS_DIR = str(single_file_library)
    library_services.scan()
    fix = {"width": 128, "height": 128, "guidance": 7.0, "hires_fix": True, "hires_first_width": 64, "hires_first_height": 64}
    single = run_job(model="one-file", hires_steps=2, hires_denoising=0.5, **fix)
    twin = run_job(model="folder-twin", hires_steps=2, hires_denoising=0.5, **fix)
    assert single.options["hires"]["first"] == [64, 64]
    assert pixels(single)[0].shape == (128, 128, 3)
    assert np.array_equal(pixels(single)[0], pixels(twin)[0])
