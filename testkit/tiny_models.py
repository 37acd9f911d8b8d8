"""Tiny random-weight Stable Diffusion pipelines whose pictures depend on their prompts.

testkit/tiny_pipeline.py builds its CLIPTokenizer with ``vocab_file=``/``merges_file=``,
keywords transformers 5 no longer reads (it wants ``vocab=``/``merges=``): the tokenizer is left
with its three-token default vocabulary, every word becomes ``<|endoftext|>``, so every prompt
gets the same embedding and no test can see a prompt (or cfg, whose two halves are then equal)
change the picture. The builders here pass the vocabulary the transformers-5 way, give the
text encoder three layers (so CLIP skip 1, 2 and 3 read different hidden states) and keep the
UNet's cross-attention blocks, so tokens reach the pixels.

``build_sensitive_pipeline()`` returns the pipeline object (CPU, a second or two to build);
``save_sensitive_pipeline(folder)`` saves it with ``save_pretrained`` for the production loading
path (GARDEN_DIFFUSION_MODEL=<folder> or the model library); ``write_tiny_embedding(path, …)``
writes an A1111-layout textual-inversion file as wide as the tiny text encoder, and
``write_tiny_sdxl_embedding(path, …)`` an SDXL one (``clip_l`` and ``clip_g``).
"""

from __future__ import annotations

import os
from pathlib import Path

from testkit.tiny_pipeline import byte_alphabet, tiny_vae

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The tiny text encoder's width (= the UNet's cross-attention width and an embedding's width).
TEXT_WIDTH = 32
TEXT_LAYERS = 3
# Room above the base vocabulary for textual-inversion tokens (diffusers resizes anyway).
VOCAB_SIZE = 1000
# Images this size (8x8 latents) run in well under a second per step on a CPU.
TINY_SIZE = 64
_MERGES = ["f l", "fl o", "flo w", "e r</w>", "r e", "re d</w>", "c a", "ca t</w>", "d o", "do g</w>"]


def tiny_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary (every character, with and without the word end, a few merges)."""
    tokens = ["<|startoftext|>", "<|endoftext|>"]
    for char in byte_alphabet():
        tokens += [char, char + "</w>"]
    for merge in _MERGES:
        merged = merge.replace(" ", "")
        if merged not in tokens:
            tokens.append(merged)
    return {token: index for index, token in enumerate(tokens)}, [tuple(merge.split(" ")) for merge in _MERGES]


def build_tiny_tokenizer():
    from transformers import CLIPTokenizer

    vocab, merges = tiny_vocabulary()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def build_sensitive_pipeline(seed: int = 0):
    """A StableDiffusionPipeline with tiny random weights (deterministic for a given seed)."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=TINY_SIZE // 8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        norm_num_groups=16,
    )
    vae = tiny_vae(TINY_SIZE)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=TEXT_WIDTH,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=TEXT_LAYERS,
            vocab_size=VOCAB_SIZE,
            max_position_embeddings=77,
            layer_norm_eps=1e-5,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_tiny_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sensitive_sdxl_pipeline(seed: int = 0):
    """A StableDiffusionXLPipeline with tiny random weights: two CLIP encoders (the second with a
    projection, for the pooled embedding) side by side in a UNet with SDXL's text-time embedding."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=TINY_SIZE // 8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + TEXT_WIDTH,
        cross_attention_dim=2 * TEXT_WIDTH,
        norm_num_groups=16,
    )
    vae = tiny_vae(TINY_SIZE)
    config = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=TEXT_LAYERS,
        vocab_size=VOCAB_SIZE,
        max_position_embeddings=77,
        layer_norm_eps=1e-5,
        projection_dim=TEXT_WIDTH,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1)
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(config),
        tokenizer=build_tiny_tokenizer(),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer_2=build_tiny_tokenizer(),
        unet=unet,
        scheduler=scheduler,
    )


def save_sensitive_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build and save the prompt-sensitive pipeline (~2 MB) into ``folder``; returns the folder."""
    folder = Path(folder)
    if (folder / "model_index.json").exists():
        return folder
    build_sensitive_pipeline(seed).save_pretrained(str(folder))
    return folder


def write_tiny_embedding(path: Path, vectors: int = 2, seed: int = 1, scale: float = 3.0) -> Path:
    """A textual-inversion embedding in A1111's safetensors layout (``emb_params``: vectors x width).

    Its vectors are large random ones, so a prompt naming it is conditioned far from any word's.
    """
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"emb_params": torch.randn(vectors, TEXT_WIDTH, generator=generator) * scale}, str(path))
    return path


def write_tiny_sdxl_embedding(path: Path, vectors: int = 2, seed: int = 2, scale: float = 3.0) -> Path:
    """An SDXL textual inversion (``clip_l`` and ``clip_g``: vectors x each tiny encoder's width),
    the two halves drawn apart so that each encoder gets vectors of its own."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    halves = {key: torch.randn(vectors, TEXT_WIDTH, generator=generator) * scale for key in ("clip_l", "clip_g")}
    save_file(halves, str(path))
    return path


if __name__ == "__main__":  # python -m testkit.tiny_models /tmp/tiny-sensitive-sd
    import sys

    print(save_sensitive_pipeline(Path(sys.argv[1] if len(sys.argv) > 1 else "var/tiny-sensitive-sd")))
