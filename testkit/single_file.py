"""Write a diffusers Stable Diffusion pipeline as a single-file checkpoint in the original layout.

What Civitai and most Hub pages offer is one ``.safetensors`` file in the original (LDM) key
layout: ``model.diffusion_model.*`` (UNet), ``first_stage_model.*`` (VAE), ``cond_stage_model.*``
(SD 1.x: CLIP; SD 2.x: OpenCLIP) or ``conditioner.embedders.0/1.*`` (SDXL). No such file can be
downloaded here, so tests write one from a (tiny or full-size, random-weight) pipeline, the inverse
of diffusers' own single-file converters, driven by each component's config; loading it back
through the product must give the same pixels as the pipeline's folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

UNET, VAE = "model.diffusion_model.", "first_stage_model."
RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
UNET_TOP = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
}


def _rename(key: str, table: dict[str, str]) -> str:
    for new, old in table.items():
        key = key.replace(f".{new}.", f".{old}.") if f".{new}." in key else key
    return key


def unet_to_ldm(state: dict, config) -> dict:
    per_block = config.layers_per_block + 1  # down: L resnets and a downsampler; up: L + 1 resnets
    attention_up = ["CrossAttn" in kind for kind in config.up_block_types]
    out = {}
    for key, value in state.items():
        head = key.partition(".")[0]
        top = ".".join(key.split(".")[:-1])
        if top in UNET_TOP:
            out[UNET + UNET_TOP[top] + "." + key.split(".")[-1]] = value
            continue
        parts = key.split(".")
        if head == "down_blocks":
            block, part, index = int(parts[1]), parts[2], int(parts[3])
            tail = ".".join(parts[4:])
            if part == "downsamplers":  # downsamplers.0.conv.weight
                new = f"input_blocks.{(block + 1) * per_block}.0.op.{'.'.join(parts[5:])}"
            else:
                slot = 0 if part == "resnets" else 1
                new = f"input_blocks.{1 + block * per_block + index}.{slot}.{tail}"
        elif head == "up_blocks":
            block, part, index = int(parts[1]), parts[2], int(parts[3])
            tail = ".".join(parts[4:])
            if part == "upsamplers":  # upsamplers.0.conv.weight
                new = f"output_blocks.{block * per_block + per_block - 1}.{2 if attention_up[block] else 1}.{tail}"
            else:
                new = f"output_blocks.{block * per_block + index}.{0 if part == 'resnets' else 1}.{tail}"
        elif head == "mid_block":
            part, index, tail = parts[1], int(parts[2]), ".".join(parts[3:])
            new = f"middle_block.{2 * index if part == 'resnets' else 1}.{tail}"
        else:
            raise KeyError(f"unexpected UNet key {key}")
        if ".resnets." in key or key.startswith("mid_block.resnets"):
            new = _rename("." + new, RESNET)[1:]
        out[UNET + new] = value
    return out


def vae_to_ldm(state: dict, config) -> dict:
    blocks = len(config.block_out_channels)
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        new = key
        if parts[1] == "down_blocks":  # encoder.down_blocks.i.resnets.j / downsamplers.0
            tail = ".".join(parts[5:])
            new = f"encoder.down.{parts[2]}." + (f"block.{parts[4]}.{tail}" if parts[3] == "resnets" else f"downsample.{tail}")
        elif parts[1] == "up_blocks":
            tail = ".".join(parts[5:])
            level = blocks - 1 - int(parts[2])
            new = f"decoder.up.{level}." + (f"block.{parts[4]}.{tail}" if parts[3] == "resnets" else f"upsample.{tail}")
        elif parts[1:3] == ["mid_block", "resnets"]:
            new = f"{parts[0]}.mid.block_{int(parts[3]) + 1}.{'.'.join(parts[4:])}"
        elif parts[1:3] == ["mid_block", "attentions"]:
            new = f"{parts[0]}.mid.attn_1.{'.'.join(parts[4:])}"
            new = _rename("." + new, VAE_ATTENTION)[1:]
            if value.ndim == 2:  # the original's attention is 1x1 convolutions
                value = value[:, :, None, None]
        elif parts[1] == "conv_norm_out":
            new = f"{parts[0]}.norm_out.{parts[2]}"
        new = _rename("." + new, VAE_RESNET)[1:]
        out[VAE + new] = value
    return out


def _hf_text_keys(state: dict) -> dict:
    """The text encoder's keys as the originals were saved (transformers 4: ``text_model.…``)."""
    return {key if key.startswith(("text_model.", "text_projection")) else "text_model." + key: value for key, value in state.items()}


def clip_to_ldm(state: dict, prefix: str) -> dict:
    return {prefix + key: value for key, value in _hf_text_keys(state).items() if not key.endswith("position_ids")}


def open_clip_to_ldm(state: dict, prefix: str) -> dict:
    import torch

    out = {}
    layers: dict[str, dict[str, object]] = {}
    for key, value in _hf_text_keys(state).items():
        if key.endswith("position_ids"):
            continue
        if key == "text_projection.weight":
            out[prefix + "text_projection"] = value.T.contiguous()
            continue
        fixed = {
            "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
            "text_model.embeddings.position_embedding.weight": "positional_embedding",
            "text_model.final_layer_norm.weight": "ln_final.weight",
            "text_model.final_layer_norm.bias": "ln_final.bias",
        }
        if key in fixed:
            out[prefix + fixed[key]] = value
            continue
        layer_key = key.removeprefix("text_model.encoder.layers.")
        index, _, rest = layer_key.partition(".")
        base = f"{prefix}transformer.resblocks.{index}."
        if rest.startswith("self_attn.") and rest.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
            layers.setdefault(base + "attn.in_proj_" + rest.split(".")[-1], {})[rest.split(".")[1]] = value
            continue
        rest = rest.replace("self_attn.", "attn.").replace("layer_norm1", "ln_1").replace("layer_norm2", "ln_2")
        out[base + rest.replace("mlp.fc1", "mlp.c_fc").replace("mlp.fc2", "mlp.c_proj")] = value
    for key, parts in layers.items():
        out[key] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]])  # type: ignore[list-item]
    return out


def ldm_state_dict(pipeline) -> dict:
    """The pipeline's weights in the original single-file layout (SD 1.x, 2.x or XL by its parts)."""
    state = {}
    state |= unet_to_ldm(pipeline.unet.state_dict(), pipeline.unet.config)
    state |= vae_to_ldm(pipeline.vae.state_dict(), pipeline.vae.config)
    encoder_2 = getattr(pipeline, "text_encoder_2", None)
    first = pipeline.text_encoder.state_dict()
    if encoder_2 is not None:  # SDXL: CLIP ViT-L as the original's HF module, OpenCLIP bigG as open_clip's
        state |= clip_to_ldm(first, "conditioner.embedders.0.transformer.")
        state |= open_clip_to_ldm(encoder_2.state_dict(), "conditioner.embedders.1.model.")
    elif pipeline.text_encoder.config.hidden_act == "gelu":  # SD 2.x: OpenCLIP
        state |= open_clip_to_ldm(first, "cond_stage_model.model.")
    else:
        state |= clip_to_ldm(first, "cond_stage_model.transformer.")
    return {key: value.contiguous() for key, value in state.items()}


def save_single_file(pipeline, path: Path, *, half: bool = False, configs_beside: bool = False, metadata: dict | None = None) -> Path:
    """``pipeline`` as one ``.safetensors`` file at ``path``; ``configs_beside``: also its configs
    (no weights) in ``<stem>.config/``, as a model whose shapes no shipped config matches needs."""
    import torch
    from safetensors.torch import save_file

    state = ldm_state_dict(pipeline)
    if half:
        state = {key: value.to(torch.float16) for key, value in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata)
    if configs_beside:
        folder = path.with_name(path.stem + ".config")
        pipeline.save_pretrained(str(folder))
        for weights in [*folder.rglob("*.safetensors"), *folder.rglob("*.bin")]:
            weights.unlink()
    return path


def remove_single_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.stem + ".config"), ignore_errors=True)


def build_from_configs(folder: Path, *, seed: int = 0):
    """A pipeline with random weights built from a config folder (one of library/checkpoint_configs,
    tokenizers included: generation.backends.checkpoints.prepared_config): the real architecture and
    tokenizer of that family, as a venue's file of that family would load."""
    import json

    import diffusers
    import torch
    import transformers

    index = json.loads((folder / "model_index.json").read_text())
    torch.manual_seed(seed)
    parts: dict = {}
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        library, class_name = spec
        cls = getattr(diffusers if library == "diffusers" else transformers, class_name)
        if class_name.endswith("Scheduler"):
            parts[name] = cls.from_pretrained(str(folder), subfolder=name)
        elif class_name.endswith("Tokenizer"):
            parts[name] = cls.from_pretrained(str(folder / name))
        elif library == "diffusers":
            parts[name] = cls.from_config(cls.load_config(str(folder / name)))
        else:
            parts[name] = cls(transformers.CLIPTextConfig.from_pretrained(str(folder / name)))
    pipeline_class = getattr(diffusers, index["_class_name"])
    extra = {} if "XL" in index["_class_name"] else {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    return pipeline_class(**parts, **extra)
