"""A models folder for the model library (docs/models.md), built offline at test time.

``build_models_folder(root)`` writes, under ``root``:

- ``tiny-sd-a/`` and ``tiny-sd-b/``: two tiny SD 1.x pipelines (testkit/tiny_pipeline.py,
  seeds 0 and 1: same architecture, different weights, different pictures);
- ``loras/tiny-ink.safetensors``: a LoRA on the UNet's attention of those pipelines (diffusers key
  format, saved by ``StableDiffusionPipeline.save_lora_weights``), strong enough to change a picture;
- ``embeddings/tiny-style.safetensors``: a textual inversion (``emb_params``, 2 vectors of the tiny
  text encoder's width 32);
- ``notes/readme.safetensors``: a weights file that is neither (the scan skips it).

Other tests reuse it with a session fixture of their own (as tests/library/test_library.py does):
``build_models_folder(tmp_path_factory.mktemp("library"))``, then GARDEN_MODELS_DIR set to it and
``library.services.entries.scan()``.
"""

from __future__ import annotations

import os
from pathlib import Path

from testkit.tiny_pipeline import save_tiny_pipeline

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PIPELINES = ("tiny-sd-a", "tiny-sd-b")
LORA = "tiny-ink"
EMBEDDING = "tiny-style"


def save_tiny_lora(path: Path, *, seed: int = 0, rank: int = 4, scale: float = 4.0) -> Path:
    """A random LoRA on the tiny UNet's attention projections, written as ``path`` (.safetensors).

    peft starts B at zero (a no-op LoRA); we draw both A and B at random and scale B so that the
    LoRA visibly moves the tiny model's output.
    """
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from testkit.tiny_pipeline import build_tiny_pipeline

    path = Path(path)
    pipeline = build_tiny_pipeline(seed)
    unet = pipeline.unet
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    generator = torch.Generator().manual_seed(1000 + seed)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale / rank)
    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(save_directory=str(path.parent), unet_lora_layers=state, weight_name=path.name)
    return path


def save_tiny_embedding(path: Path, *, vectors: int = 2, width: int = 32, seed: int = 0) -> Path:
    """A textual inversion in the A1111/SD-Next safetensors format: one ``emb_params`` tensor."""
    import numpy as np
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = np.random.default_rng(seed).standard_normal((vectors, width)).astype(np.float32)
    save_file({"emb_params": values}, str(path))
    return path


def save_foreign_weights(path: Path) -> Path:
    """A .safetensors file that is neither a LoRA nor an embedding (a classifier head)."""
    import numpy as np
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"head.weight": np.zeros((4, 4), np.float32), "head.bias": np.zeros(4, np.float32)}, str(path))
    return path


def build_models_folder(root: Path) -> Path:
    """The folder above (idempotent); returns ``root``."""
    root = Path(root)
    for seed, name in enumerate(PIPELINES):
        save_tiny_pipeline(root / name, seed=seed)
    if not (root / "loras" / f"{LORA}.safetensors").exists():
        save_tiny_lora(root / "loras" / f"{LORA}.safetensors")
    if not (root / "embeddings" / f"{EMBEDDING}.safetensors").exists():
        save_tiny_embedding(root / "embeddings" / f"{EMBEDDING}.safetensors")
    if not (root / "notes" / "readme.safetensors").exists():
        save_foreign_weights(root / "notes" / "readme.safetensors")
    return root


if __name__ == "__main__":  # python -m testkit.tiny_library /tmp/garden-models
    import sys

    print(build_models_folder(Path(sys.argv[1] if len(sys.argv) > 1 else "var/garden-models")))
