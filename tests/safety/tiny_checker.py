"""A tiny real StableDiffusionSafetyChecker (random CLIP weights) and its image processor, saved
into a copy of a tiny model folder the way Stable Diffusion checkpoints ship them."""

from __future__ import annotations

import shutil
from pathlib import Path

CHECKER_SIZE = 32  # the tiny CLIP vision tower's input side


def save_checker(model_dir: Path, folder: Path, *, flag_everything: bool) -> Path:
    """``model_dir`` copied to ``folder`` with ``safety_checker/`` and ``feature_extractor/``.

    Its concept thresholds are set far below (every picture flagged) or above (none flagged) any
    cosine similarity, so the answer does not depend on the random weights.
    """
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    shutil.copytree(model_dir, folder)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 99},
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 24,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "image_size": CHECKER_SIZE,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    threshold = -10.0 if flag_everything else 10.0
    checker.concept_embeds_weights.data.fill_(threshold)
    checker.special_care_embeds_weights.data.fill_(threshold)
    checker.save_pretrained(str(folder / "safety_checker"))
    CLIPImageProcessor(size={"shortest_edge": CHECKER_SIZE}, crop_size={"height": CHECKER_SIZE, "width": CHECKER_SIZE}).save_pretrained(
        str(folder / "feature_extractor")
    )
    return folder
