"""Tiny VAEs and upscalers for the library's ``vae/`` and ``upscalers/`` folders, built at test time.

- ``save_tiny_vae(path, seed)``: a VAE of the tiny pipelines' shapes (testkit/tiny_pipeline.py
  ``tiny_vae``) with other random weights, as one ``.safetensors`` file in the original (LDM) layout
  that single-file VAEs from model sites use (``encoder.down.0.block.0.…``, ``mid.attn_1.q`` as a
  1x1 convolution, ``quant_conv``), or, with ``layout="diffusers"``, as a diffusers folder
  (``config.json`` + weights);
- ``save_tiny_upscaler(path, scale)``: an RRDBNet (ESRGAN's network) with 8 filters and one block,
  random weights, in BasicSR's key layout (what Real-ESRGAN ships and spandrel detects by
  ``conv_first``, ``body.0.rdb1.conv1``, ``conv_body``, ``conv_last``), ESRGAN's original layout
  (``model.0``, ``model.1.sub.0.RDB1.conv1.0`` …) or BSRGAN's, as ``.safetensors`` or ``.pth``.
"""

from __future__ import annotations

import re
from pathlib import Path

# diffusers' AutoencoderKL names → the original (LDM) names, as diffusers' own
# scripts/convert_diffusers_to_original_stable_diffusion.py maps them.
_VAE_RENAMES = (
    (r"^(encoder|decoder)\.conv_norm_out\.", r"\1.norm_out."),
    (r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.down.\1.block.\2."),
    (r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample."),
    (r"^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.", lambda m: f"{m.group(1)}.mid.block_{int(m.group(2)) + 1}."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.", r"\1.mid.attn_1."),
    (r"\.conv_shortcut\.", ".nin_shortcut."),
    (r"\.group_norm\.", ".norm."),
    (r"\.to_q\.", ".q."),
    (r"\.to_k\.", ".k."),
    (r"\.to_v\.", ".v."),
    (r"\.to_out\.0\.", ".proj_out."),
)


def ldm_vae_state(state: dict, up_blocks: int) -> dict:
    """A diffusers AutoencoderKL state dict in the original layout (decoder blocks counted from the top)."""
    out = {}
    for key, value in state.items():
        new = re.sub(
            r"^decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.",
            lambda m: (
                f"decoder.up.{up_blocks - 1 - int(m.group(1))}." + (f"block.{m.group(3)}." if m.group(2) == "resnets" else "upsample.")
            ),
            key,
        )
        for pattern, replacement in _VAE_RENAMES:
            new = re.sub(pattern, replacement, new)
        if ".mid.attn_1." in new and new.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]  # the original's attention projections are 1x1 convolutions
        out[new] = value.contiguous()
    return out


def save_tiny_vae(path: Path, *, seed: int = 5, layout: str = "ldm") -> Path:
    import torch
    from safetensors.torch import save_file

    from testkit.tiny_pipeline import tiny_vae

    path = Path(path)
    torch.manual_seed(seed)
    vae = tiny_vae()
    if layout == "diffusers":
        vae.save_pretrained(str(path))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(ldm_vae_state(vae.state_dict(), len(vae.config.up_block_types)), str(path))
    return path


def upscaler_state(*, scale: int = 2, filters: int = 8, blocks: int = 1, growth: int = 4, seed: int = 3) -> dict:
    """An RRDBNet state dict in BasicSR's layout, random weights (scale 1, 2, 4 or 8)."""
    import torch

    from generation.backends.upscalers import RRDBNet

    torch.manual_seed(seed)
    net = RRDBNet(in_channels=3, out_channels=3, filters=filters, blocks=blocks, growth=growth, upsamples=scale.bit_length() - 1, shuffle=1)
    return {key: value.detach().clone() for key, value in net.state_dict().items()}


def esrgan_layout(state: dict) -> dict:
    """BasicSR's keys as ESRGAN's original ``model.N`` keys (the layout of 4x-UltraSharp and friends)."""
    upsamples = sum(1 for key in state if key.startswith("conv_up") and key.endswith(".weight"))
    blocks = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("body."))
    out = {}
    for key, value in state.items():
        new = re.sub(r"^conv_first\.", "model.0.", key)
        new = re.sub(r"^body\.(\d+)\.rdb(\d)\.conv(\d)\.", r"model.1.sub.\1.RDB\2.conv\3.0.", new)
        new = re.sub(r"^conv_body\.", f"model.1.sub.{blocks}.", new)
        new = re.sub(r"^conv_up(\d)\.", lambda m: f"model.{3 * int(m.group(1))}.", new)
        new = re.sub(r"^conv_hr\.", f"model.{3 * upsamples + 2}.", new)
        new = re.sub(r"^conv_last\.", f"model.{3 * upsamples + 4}.", new)
        out[new] = value
    return out


def bsrgan_layout(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        new = re.sub(r"^body\.(\d+)\.rdb(\d)\.conv(\d)\.", r"RRDB_trunk.\1.RDB\2.conv\3.", key)
        new = re.sub(r"^conv_body\.", "trunk_conv.", new)
        new = re.sub(r"^conv_up(\d)\.", r"upconv\1.", new)
        new = re.sub(r"^conv_hr\.", "HRconv.", new)
        out[new] = value
    return out


def save_tiny_upscaler(path: Path, *, scale: int = 2, layout: str = "basicsr", seed: int = 3) -> Path:
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = upscaler_state(scale=scale, seed=seed)
    state = {"basicsr": state, "esrgan": esrgan_layout(state), "bsrgan": bsrgan_layout(state)}[layout]
    if path.suffix == ".pth":
        torch.save({"params_ema": state}, str(path))  # as Real-ESRGAN's releases wrap it
    else:
        save_file(state, str(path))
    return path
