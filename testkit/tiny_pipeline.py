"""A tiny random-weight Stable Diffusion pipeline, built offline at test time.

No wheel ships real Stable Diffusion weights and the hub is unreachable, so tests and the
benchmark build a structurally real StableDiffusionPipeline (UNet, CLIP text encoder and
tokenizer, VAE with the real 8x downsampling, DDIM scheduler) with tiny random weights, save it
with ``save_pretrained`` and load it back through the production path
(GARDEN_DIFFUSION_MODEL=<folder>). Its pictures are noise; its shapes, seeds, batching,
callbacks and file layout are the real ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def byte_alphabet() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values (the product's own table)."""
    from library.checkpoints import bytes_to_unicode

    return bytes_to_unicode()


def write_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A minimal byte-level BPE vocabulary (single characters, a few merges)."""
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<|startoftext|>", "<|endoftext|>"]
    for char in byte_alphabet():
        tokens += [char, char + "</w>"]
    merges = ["#version: 0.2", "f l", "fl o", "flo w", "e r</w>", "g a", "ga r"]
    for merge in merges[1:]:
        merged = merge.replace(" ", "")
        if merged not in tokens:
            tokens.append(merged)
    vocab = {token: index for index, token in enumerate(tokens)}
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps(vocab))
    merges_file.write_text("\n".join(merges) + "\n")
    return vocab_file, merges_file


def tiny_vae(sample_size: int = 64):
    """Four blocks: the VAE scales by 8 like the real one, so width/height in pixels mean the same."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(16, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=sample_size,
    )


def build_tiny_pipeline(seed: int = 0):
    """The pipeline object (random weights, deterministic for a given seed)."""
    import tempfile

    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=16,
    )
    vae = tiny_vae()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=1000,
            max_position_embeddings=77,
            layer_norm_eps=1e-5,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1
    )
    with tempfile.TemporaryDirectory() as folder:
        vocab_file, merges_file = write_tokenizer_files(Path(folder))
        tokenizer = CLIPTokenizer(vocab_file=str(vocab_file), merges_file=str(merges_file), model_max_length=77)
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build and save the tiny pipeline (~2 MB) into ``folder``; returns the folder."""
    folder = Path(folder)
    if (folder / "model_index.json").exists():
        return folder
    build_tiny_pipeline(seed).save_pretrained(str(folder))
    return folder


if __name__ == "__main__":  # python -m testkit.tiny_pipeline /tmp/tiny-sd
    import sys

    print(save_tiny_pipeline(Path(sys.argv[1] if len(sys.argv) > 1 else "var/tiny-sd")))
