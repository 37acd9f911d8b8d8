"""Full-size Stable Diffusion architectures with random weights, built offline for GPU timing.

No checkpoint can be downloaded where the benchmark runs (no internet on the GPU machines), so
this builds the real SD 1.5 network shapes from their configs — UNet (320/640/1280/1280 channels,
2 layers per block, cross-attention 768, 8 heads), the SD VAE (128/256/512/512, 4 latent
channels), the CLIP ViT-L/14 text encoder (768 wide, 12 layers, 12 heads, MLP 3072, vocabulary
49408, 77 positions) and SD 1.5's PNDM scheduler — fills them with random weights and saves a
pipeline folder with ``save_pretrained`` that the production loader reads (GARDEN_DIFFUSION_MODEL).

The tokenizer is the tiny byte-level one of testkit/tiny_pipeline.py (no vocabulary
files ship offline). That does not change the timing: the pipeline always pads or truncates the
prompt to 77 tokens, so the text encoder runs its 12 layers over 77 positions whatever the
vocabulary, and the embedding lookup is the same size of work for 500 or 49408 entries.
The pictures are noise (random weights): the figures are speed, not quality.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

# sd15-inpaint: the 9-channel inpainting UNet (runwayml/stable-diffusion-inpainting); sd-turbo:
# stabilityai/sd-turbo's shapes (SD 2.1: linear projections, 1024-wide OpenCLIP ViT-H text encoder,
# 23 of its layers as saved, Euler with trailing timesteps for 1-4 steps); sdxl:
# stabilityai/stable-diffusion-xl-base-1.0's shapes (build_sdxl).
ARCHITECTURES = ("sd15", "sd15-inpaint", "sd-turbo", "sdxl")


def _vae(**config):
    """The SD VAE (128/256/512/512 channels, 4 latent channels) that SD 1.5, SD 2.1 and SDXL share;
    ``config`` holds what differs (size, scaling, SDXL's float32 upcast)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        act_fn="silu",
        latent_channels=4,
        norm_num_groups=32,
        **config,
    )


def build_sd15(*, seed: int = 0, device: str = "cpu", inpaint: bool = False, turbo: bool = False):
    """SD 1.5's pipeline with random weights (float32), its modules created on ``device``.

    ``inpaint``: SD 1.5 inpainting instead (UNet in_channels=9: latents + mask + masked-image latents),
    returned as a StableDiffusionInpaintPipeline. ``turbo``: SD-Turbo's (SD 2.1) shapes instead.
    """
    import torch
    from diffusers import (
        EulerDiscreteScheduler,
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    with torch.device(device):  # random init of ~1.07 G parameters is far faster on the GPU
        unet = UNet2DConditionModel(  # runwayml/stable-diffusion-v1-5 unet/config.json
            sample_size=64,
            in_channels=9 if inpaint else 4,
            out_channels=4,
            center_input_sample=False,
            flip_sin_to_cos=True,
            freq_shift=0,
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            downsample_padding=1,
            mid_block_scale_factor=1,
            act_fn="silu",
            norm_num_groups=32,
            norm_eps=1e-5,
            cross_attention_dim=1024 if turbo else 768,
            attention_head_dim=(5, 10, 20, 20) if turbo else 8,
            use_linear_projection=turbo,
        )
        vae = _vae(sample_size=512)  # vae/config.json
        text_encoder = CLIPTextModel(  # openai/clip-vit-large-patch14 text_config (SD 1.5's text_encoder)
            CLIPTextConfig(
                vocab_size=49408,
                hidden_size=1024 if turbo else 768,
                intermediate_size=4096 if turbo else 3072,
                projection_dim=512 if turbo else 768,
                num_hidden_layers=23 if turbo else 12,
                num_attention_heads=16 if turbo else 12,
                max_position_embeddings=77,
                hidden_act="gelu" if turbo else "quick_gelu",
                layer_norm_eps=1e-5,
                # The tiny tokenizer's ids: <|startoftext|> = 0, <|endoftext|> = 1 (also padding).
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
            )
        )
    betas = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1}
    if turbo:  # stabilityai/sd-turbo scheduler/scheduler_config.json
        scheduler = EulerDiscreteScheduler(**betas, timestep_spacing="trailing", prediction_type="epsilon")
    else:  # scheduler/scheduler_config.json
        scheduler = PNDMScheduler(**betas, skip_prk_steps=True, set_alpha_to_one=False)
    tokenizer = _tokenizer()
    pipeline_class = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    return pipeline_class(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _tokenizer():
    from transformers import CLIPTokenizer

    from testkit.tiny_pipeline import write_tokenizer_files

    with tempfile.TemporaryDirectory() as folder:
        vocab_file, merges_file = write_tokenizer_files(Path(folder))
        return CLIPTokenizer(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=77)


def build_sdxl(*, seed: int = 0, device: str = "cpu"):
    """SDXL base's pipeline with random weights (float32): the 2.6 G-parameter UNet (320/640/1280
    channels, 1/2/10 transformer layers, cross-attention 2048, text-time embedding), the SDXL VAE
    (upcast to float32 to decode, as its config says), CLIP ViT-L and OpenCLIP ViT-bigG (32 layers
    of 1280, with the projection that gives the pooled embedding), Euler with leading timesteps."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    def text_config(width: int, layers: int, heads: int, mlp: int, activation: str) -> CLIPTextConfig:
        return CLIPTextConfig(
            vocab_size=49408, hidden_size=width, intermediate_size=mlp, projection_dim=width, num_hidden_layers=layers,
            num_attention_heads=heads, max_position_embeddings=77, hidden_act=activation, layer_norm_eps=1e-5,
            bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )  # fmt: skip

    torch.manual_seed(seed)
    with torch.device(device):
        unet = UNet2DConditionModel(  # stabilityai/stable-diffusion-xl-base-1.0 unet/config.json
            sample_size=128,
            in_channels=4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            block_out_channels=(320, 640, 1280),
            layers_per_block=2,
            transformer_layers_per_block=(1, 2, 10),
            attention_head_dim=(5, 10, 20),
            cross_attention_dim=2048,
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
            act_fn="silu",
            norm_num_groups=32,
            norm_eps=1e-5,
        )
        vae = _vae(sample_size=1024, scaling_factor=0.13025, force_upcast=True)  # vae/config.json
        text_encoder = CLIPTextModel(text_config(768, 12, 12, 3072, "quick_gelu"))
        text_encoder_2 = CLIPTextModelWithProjection(text_config(1280, 32, 20, 5120, "gelu"))
    scheduler = EulerDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
        timestep_spacing="leading", prediction_type="epsilon",
    )  # fmt: skip
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=_tokenizer(), tokenizer_2=_tokenizer(),
        unet=unet, scheduler=scheduler,
    )  # fmt: skip


def _build(architecture: str, *, seed: int, device: str):
    if architecture == "sdxl":
        return build_sdxl(seed=seed, device=device)
    return build_sd15(seed=seed, device=device, inpaint=architecture == "sd15-inpaint", turbo=architecture == "sd-turbo")


def save_random_pipeline(architecture: str, folder: Path, *, seed: int = 0, half: bool = True) -> Path:
    """Build ``architecture`` with random weights and save it into ``folder`` (reused if already there).

    ``half``: save float16 weights (what the loader uses on CUDA anyway; 1.7 GB instead of 3.4 GB).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; one of {', '.join(ARCHITECTURES)}")
    folder = Path(folder)
    if (folder / "model_index.json").exists():
        return folder
    import torch

    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        pipeline = _build(architecture, seed=seed, device=device)
    except Exception as exc:  # a library that does not build under a CUDA device context: build on the CPU
        if device == "cpu":
            raise
        print(f"building on {device} failed ({type(exc).__name__}: {exc}); building on the CPU")
        device = "cpu"
        pipeline = _build(architecture, seed=seed, device=device)
    if half:
        pipeline = pipeline.to(dtype=torch.float16)
    parts = [name for name in ("unet", "vae", "text_encoder", "text_encoder_2") if getattr(pipeline, name, None) is not None]
    counts = {name: sum(p.numel() for p in getattr(pipeline, name).parameters()) for name in parts}
    pipeline.save_pretrained(str(folder))
    del pipeline
    if device == "cuda":
        torch.cuda.empty_cache()
    millions = ", ".join(f"{name} {count / 1e6:.1f} M" for name, count in counts.items())
    print(f"random {architecture} built on {device} and saved to {folder} in {time.perf_counter() - started:.1f} s ({millions} parameters)")
    return folder


def save_random_controlnet(folder: Path, *, seed: int = 1, half: bool = True) -> Path:
    """SD 1.5's ControlNet (lllyasviel/control_v11p_sd15_lineart config) with random weights, saved in ``folder``.

    The UNet's encoder half (4 latent channels in: the inpainting pipeline feeds the ControlNet the plain
    latents), cross-attention 768, 8 heads, the 16/32/96/256 conditioning embedding. Reused if already there.
    """
    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    import torch
    from diffusers import ControlNetModel

    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    with torch.device(device):
        model = ControlNetModel(
            in_channels=4,
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
            conditioning_embedding_out_channels=(16, 32, 96, 256),
        )
    if half:
        model = model.to(dtype=torch.float16)
    count = sum(p.numel() for p in model.parameters())
    model.save_pretrained(str(folder))
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    seconds = time.perf_counter() - started
    print(f"random ControlNet built on {device} and saved to {folder} in {seconds:.1f} s ({count / 1e6:.1f} M parameters)")
    return folder
