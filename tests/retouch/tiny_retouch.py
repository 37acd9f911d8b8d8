"""Tiny random-weight models for retouching, built offline at test time and saved like real ones.

Each is loaded back through the production path (settings naming a local folder or file):

- a 9-channel inpainting pipeline (``in_channels=9``, ``out_channels=4``) saved with
  ``save_pretrained`` and loaded with ``AutoPipelineForInpainting.from_pretrained``;
- ControlNets made with ``ControlNetModel.from_unet`` from the **4-channel** text-to-image UNet
  (the ControlNet sees the 4-channel latents even beside a 9-channel UNet; four conditioning
  channels so that three stride-2 steps scale by 8 like the VAE);
- IP-Adapter weights (``image_proj.*`` and ``ip_adapter.<n>.to_k_ip/to_v_ip`` per cross-attention
  layer) in a .safetensors file, with a tiny CLIP image encoder in ``image_encoder/`` beside it;
- a WD14-style tagger: ``model.onnx`` (NHWC BGR 0..255 in, sigmoid scores out) + ``selected_tags.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from testkit.tiny_pipeline import build_tiny_pipeline

# The tagger's tags: four ratings first (category 9), then general tags (category 0). Scores are
# sigmoid(weights · mean BGR / 255 + bias), so a red picture scores "red_flower" high and a blue one
# "blue_sky"; the input is BGR as in the real models, so a channel swap shows in the tests.
TAGGER_TAGS = [
    ("general", 9, (0.0, 0.0, 0.0), 2.0),
    ("sensitive", 9, (0.0, 0.0, 0.0), -2.0),
    ("questionable", 9, (0.0, 0.0, 0.0), -4.0),
    ("explicit", 9, (0.0, 0.0, 0.0), -6.0),
    ("red_flower", 0, (-8.0, -8.0, 12.0), -2.0),
    ("blue_sky", 0, (12.0, -8.0, -8.0), -2.0),
    ("^_^", 0, (0.0, 0.0, 0.0), 3.0),
    ("no_humans", 0, (0.0, 0.0, 0.0), -3.0),
]
TAGGER_SIZE = 32


def save_inpaint_pipeline(folder: Path, seed: int = 0) -> Path:
    """A 9-channel inpainting pipeline (the text-to-image parts with a wider UNet input)."""
    import torch
    from diffusers import StableDiffusionInpaintPipeline, UNet2DConditionModel

    folder = Path(folder)
    if (folder / "model_index.json").exists():
        return folder
    text_to_image = build_tiny_pipeline(seed)
    torch.manual_seed(seed + 1)
    unet = UNet2DConditionModel.from_config({**text_to_image.unet.config, "in_channels": 9})
    StableDiffusionInpaintPipeline(
        vae=text_to_image.vae,
        text_encoder=text_to_image.text_encoder,
        tokenizer=text_to_image.tokenizer,
        unet=unet,
        scheduler=text_to_image.scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).save_pretrained(str(folder))
    return folder


def save_controlnet(folder: Path, seed: int = 0, *, cross_attention_dim: int | None = None) -> Path:
    """A ControlNet for the tiny model (or, with another ``cross_attention_dim``, for another family)."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    unet = build_tiny_pipeline(seed).unet
    if cross_attention_dim is not None:
        unet = UNet2DConditionModel.from_config({**unet.config, "cross_attention_dim": cross_attention_dim})
    torch.manual_seed(seed + 2)
    ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16, 16, 16)).save_pretrained(str(folder))
    return folder


def save_ip_adapter(folder: Path, seed: int = 0) -> Path:
    """``ip-adapter.safetensors`` + ``image_encoder/``; returns the weights file."""
    import torch
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = Path(folder)
    weights = folder / "ip-adapter.safetensors"
    if weights.exists():
        return weights
    torch.manual_seed(seed + 3)
    unet = build_tiny_pipeline(seed).unet
    width = unet.config.cross_attention_dim
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=width,
            image_size=32,
            patch_size=4,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
        )
    )
    encoder.save_pretrained(str(folder / "image_encoder"))
    projection = ImageProjection(cross_attention_dim=width, image_embed_dim=width, num_image_text_embeds=4)
    state = {f"image_proj.{name.replace('image_embeds', 'proj')}": value for name, value in projection.state_dict().items()}
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        block = name.split(".")[0]
        if block == "mid_block":
            hidden = unet.config.block_out_channels[-1]
        elif block == "up_blocks":
            hidden = list(reversed(unet.config.block_out_channels))[int(name.split(".")[1])]
        else:
            hidden = unet.config.block_out_channels[int(name.split(".")[1])]
        state[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, width) * 0.05
        state[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, width) * 0.05
        key_id += 2
    save_file({name: value.contiguous() for name, value in state.items()}, str(weights))
    return weights


def save_tagger(folder: Path) -> Path:
    """A WD14-layout tagger: mean colour → one linear layer → sigmoid, as ONNX."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder = Path(folder)
    if (folder / "model.onnx").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    weights = np.array([list(w) for _, _, w, _ in TAGGER_TAGS], np.float32).T / 255.0  # (3, tags)
    bias = np.array([b for *_, b in TAGGER_TAGS], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input_1:0", "axes"], ["mean"], keepdims=0),
            helper.make_node("MatMul", ["mean", "weights"], ["logits"]),
            helper.make_node("Add", ["logits", "bias"], ["biased"]),
            helper.make_node("Sigmoid", ["biased"], ["predictions_sigmoid"]),
        ],
        "tiny-wd14",
        [helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, ["batch", TAGGER_SIZE, TAGGER_SIZE, 3])],
        [helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, ["batch", len(TAGGER_TAGS)])],
        initializer=[
            numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    with (folder / "selected_tags.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for number, (name, category, _, _) in enumerate(TAGGER_TAGS):
            writer.writerow([number, name, category, 100])
    return folder
