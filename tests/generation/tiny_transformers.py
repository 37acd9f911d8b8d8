"""Tiny random-weight transformer-family pipelines (Flux, SD3, PixArt-alpha), built offline at test time.

Structurally real pipelines of the pinned diffusers (the component classes, text encoders,
tokenizers, VAE with the real 8x downsampling, flow-matching scheduler and file layout of
``save_pretrained``) with tiny random weights, in the spirit of diffusers' own tests'
``get_dummy_components``, but with tokenizers built here (no hub): the CLIP tokenizer of
testkit/tiny_models.py and a T5 tokenizer from a small unigram vocabulary.

- ``build_tiny_flux_pipeline()`` / ``save_tiny_flux_pipeline(folder)``: a FluxPipeline (CLIP + T5
  encoders, FluxTransformer2DModel with guidance embedding, 16 packed latent channels);
- ``save_tiny_flux_lora(path)``: a LoRA on that transformer's attention, in diffusers' key layout
  (``transformer.…``, written by ``FluxPipeline.save_lora_weights``), strong enough to change a picture;
- ``build_tiny_sd3_pipeline()`` / ``save_tiny_sd3_pipeline(folder)``: a StableDiffusion3Pipeline
  (two CLIP encoders with projection, T5, SD3Transformer2DModel);
- ``build_tiny_pixart_pipeline()`` / ``save_tiny_pixart_pipeline(folder)``: a PixArtAlphaPipeline
  (T5, PixArtTransformer2DModel, DPM-Solver; no LoRA loader in diffusers).

Pictures are noise; shapes, seeds, latents and the loading path are the real ones.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

from testkit.tiny_models import TEXT_WIDTH, TINY_SIZE, build_tiny_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

T5_VOCAB = 200


def build_tiny_t5_tokenizer():
    """A T5 (unigram) tokenizer over single letters, digits and a few words: prompts differ in tokens."""
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]
    for word in ("garden", "flower", "red", "glass", "dog", "cat"):
        pieces.append((f"▁{word}", -2.0))
    for char in string.ascii_lowercase + string.digits + ",.:()[]":
        pieces += [(char, -4.0), (f"▁{char}", -4.5)]
    return T5TokenizerFast(vocab=pieces, extra_ids=0)


def _tiny_t5_encoder():
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(vocab_size=T5_VOCAB, d_model=TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8)
    )


def _clip_config(**extra):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=1000,
        max_position_embeddings=77,
        layer_norm_eps=1e-5,
        **extra,
    )


def _flow_vae(latent_channels: int):
    """Four blocks (8x, as the real ones) and the shift/scale the Flux and SD3 pipelines read."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(16, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=latent_channels,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=TINY_SIZE,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def build_tiny_flux_pipeline(seed: int = 0):
    """A FluxPipeline with tiny random weights (deterministic for a given seed)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,  # 4 VAE channels in 2x2 packed patches
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=TEXT_WIDTH,
        guidance_embeds=True,  # as FLUX.1-dev: guidance_scale reaches the model
        axes_dims_rope=(4, 4, 8),
    )
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(4),
        text_encoder=CLIPTextModel(_clip_config()),
        tokenizer=build_tiny_tokenizer(),
        text_encoder_2=_tiny_t5_encoder(),
        tokenizer_2=build_tiny_t5_tokenizer(),
        transformer=transformer,
    )


def build_tiny_sd3_pipeline(seed: int = 0):
    """A StableDiffusion3Pipeline with tiny random weights (deterministic for a given seed)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=TINY_SIZE // 8,
        patch_size=1,
        in_channels=4,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=TEXT_WIDTH,
        joint_attention_dim=TEXT_WIDTH,
        pooled_projection_dim=2 * TEXT_WIDTH,  # both CLIP encoders' pooled outputs side by side
        out_channels=4,
    )
    return StableDiffusion3Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(4),
        text_encoder=CLIPTextModelWithProjection(_clip_config(projection_dim=TEXT_WIDTH)),
        tokenizer=build_tiny_tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(_clip_config(projection_dim=TEXT_WIDTH)),
        tokenizer_2=build_tiny_tokenizer(),
        text_encoder_3=_tiny_t5_encoder(),
        tokenizer_3=build_tiny_t5_tokenizer(),
        transformer=transformer,
    )


def build_tiny_pixart_pipeline(seed: int = 0):
    """A PixArtAlphaPipeline with tiny random weights: one T5 encoder, a PixArt transformer whose
    sample size (32 latents) is one PixArt's resolution binning knows (it paints at 256² and resizes)."""
    import torch
    from diffusers import DPMSolverMultistepScheduler, PixArtAlphaPipeline, PixArtTransformer2DModel

    torch.manual_seed(seed)
    transformer = PixArtTransformer2DModel(
        sample_size=32,
        num_layers=1,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=2,
        caption_channels=TEXT_WIDTH,
        in_channels=4,
        cross_attention_dim=16,
        out_channels=8,  # PixArt-alpha learns its variance: twice the latent channels
        attention_bias=True,
        activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000,
        norm_type="ada_norm_single",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
    )
    return PixArtAlphaPipeline(
        tokenizer=build_tiny_t5_tokenizer(),
        text_encoder=_tiny_t5_encoder(),
        vae=_flow_vae(4),
        transformer=transformer,
        scheduler=DPMSolverMultistepScheduler(),
    )


def save_tiny_pixart_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build and save the tiny PixArt-alpha pipeline into ``folder``; returns the folder."""
    return _save(build_tiny_pixart_pipeline, folder, seed)


def _save(build, folder: Path, seed: int) -> Path:
    folder = Path(folder)
    if not (folder / "model_index.json").exists():
        build(seed).save_pretrained(str(folder))
    return folder


def save_tiny_flux_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build and save the tiny Flux pipeline (~1 MB) into ``folder``; returns the folder."""
    return _save(build_tiny_flux_pipeline, folder, seed)


def save_tiny_sd3_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build and save the tiny SD3 pipeline into ``folder``; returns the folder."""
    return _save(build_tiny_sd3_pipeline, folder, seed)


def save_tiny_flux_lora(path: Path, *, seed: int = 0, rank: int = 4, scale: float = 4.0) -> Path:
    """A random LoRA on the tiny Flux transformer's attention projections, written as ``path``.

    peft starts B at zero (a no-op LoRA); both A and B are drawn at random, B scaled so the LoRA
    visibly moves the tiny model's output.
    """
    import torch
    from diffusers import FluxPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    path = Path(path)
    transformer = build_tiny_flux_pipeline(seed).transformer
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v"]))
    generator = torch.Generator().manual_seed(2000 + seed)
    with torch.no_grad():
        for name, parameter in transformer.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale / rank)
    path.parent.mkdir(parents=True, exist_ok=True)
    FluxPipeline.save_lora_weights(
        save_directory=str(path.parent), transformer_lora_layers=get_peft_model_state_dict(transformer), weight_name=path.name
    )
    return path


if __name__ == "__main__":  # python -m tests.generation.tiny_transformers /tmp/tiny-flux
    import sys

    print(save_tiny_flux_pipeline(Path(sys.argv[1] if len(sys.argv) > 1 else "var/tiny-flux")))
