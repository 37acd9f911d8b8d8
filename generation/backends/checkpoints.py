"""Loading a model as venues have it: a diffusers folder, or a single-file checkpoint, offline.

A single ``.safetensors`` checkpoint in the original layout loads through diffusers'
``from_single_file`` with a local config folder (library.checkpoints.config_folder: the one
shipped for its family, or ``<stem>.config`` beside it), so nothing is fetched from the Hub. Its
tokenizers are built from the CLIP BPE vocabulary inside the open_clip_torch wheel (OpenAI CLIP's
merges: SD 1.x, SD 2.x and both of SDXL's encoders use it), written once into a cache folder beside
a copy of the configs. ``.ckpt`` pickles load only when GARDEN_MODELS_ALLOW_CKPT allows it, with
torch's ``weights_only`` unpickler.

Only worker processes import this module (it imports torch through its caller).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from config.caches import memoized
from generation import clip_tokens
from generation.backends import ModelUnavailable
from library import checkpoints
from library import files as library_files

CKPT_HINT = (
    "is a .ckpt file (a Python pickle, which can run code when loaded): convert it to .safetensors "
    "(manage.py convert_checkpoint FILE), or set GARDEN_MODELS_ALLOW_CKPT=true to load it with torch's weights_only unpickler"
)


def is_single_file(model: str) -> bool:
    return Path(model).suffix in (".safetensors", ".ckpt") and Path(model).is_file()


def load_text_to_image(diffusers, model: str, *, dtype, offline: bool) -> Any:
    """The text-to-image pipeline of ``model``: a folder or hub id, or a single-file checkpoint."""
    if not is_single_file(model):
        return diffusers.AutoPipelineForText2Image.from_pretrained(model, dtype=dtype, local_files_only=offline)
    pipeline = load_single_file(diffusers, Path(model), dtype=dtype)
    if getattr(pipeline.unet.config, "in_channels", 4) != 4:
        raise ModelUnavailable(
            f"{model} is an inpainting model: it repaints parts of pictures (GARDEN_RETOUCH_INPAINT_MODEL), not whole ones from text."
        )
    return pipeline


def load_inpainting(diffusers, model: str, *, dtype, offline: bool) -> Any:
    """The inpainting pipeline of ``model`` (GARDEN_RETOUCH_INPAINT_MODEL): a folder, or a single
    file of an inpainting checkpoint (its UNet takes 9 channels: latents, mask, masked picture)."""
    if not is_single_file(model):
        return diffusers.AutoPipelineForInpainting.from_pretrained(model, dtype=dtype, local_files_only=offline)
    pipeline = load_single_file(diffusers, Path(model), dtype=dtype)
    if getattr(pipeline.unet.config, "in_channels", 4) != 9:
        raise ModelUnavailable(f"{model} is not an inpainting model (its UNet takes {pipeline.unet.config.in_channels} channels, not 9).")
    return pipeline


def load_single_file(diffusers, path: Path, *, dtype) -> Any:
    """A single-file checkpoint as the pipeline class its family's configs name."""
    checkpoint = _classify(path)
    folder = prepared_config(checkpoints.config_folder(path, checkpoint))
    index = json.loads((folder / "model_index.json").read_text())
    pipeline_class = getattr(diffusers, index["_class_name"])
    # A .ckpt is unpickled by diffusers with torch's weights_only (tensors and containers only).
    return pipeline_class.from_single_file(str(path), config=str(folder), local_files_only=True, torch_dtype=dtype)


def _classify(path: Path) -> checkpoints.Checkpoint:
    if path.suffix == ".ckpt":
        from django.conf import settings

        if not settings.GARDEN_MODELS_ALLOW_CKPT:
            raise ModelUnavailable(f"{path} {CKPT_HINT}.")
        return checkpoints.classify(path, checkpoints.Header(library_files.pickle_shapes(path), {}))
    try:
        header = checkpoints.read_header(path)
    except (OSError, checkpoints.HeaderError) as exc:
        raise ModelUnavailable(f"{path} is not a readable .safetensors checkpoint: {exc}") from exc
    checkpoint = checkpoints.classify(path, header)
    if checkpoint.kind != "pipeline":
        raise ModelUnavailable(f"{path} holds no diffusion model (its keys are not those of an SD 1.x, 2.x or XL checkpoint).")
    if not checkpoint.usable:
        raise ModelUnavailable(f"{path} is {checkpoint.reason}.")
    return checkpoint


# --- config folders with tokenizers ---------------------------------------------------------------


def prepared_config(folder: Path) -> Path:
    """``folder`` copied into the cache with a CLIP vocabulary in every tokenizer subfolder that lacks one.

    Keyed by the folder's path and contents, so a changed config is copied anew; written into a
    temporary folder and renamed, so two workers starting at once never see half of one.
    """
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    target = _cache_root() / f"{folder.name}-{digest.hexdigest()[:16]}"
    if (target / "model_index.json").is_file():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    shutil.copytree(folder, staging, dirs_exist_ok=True)
    for tokenizer in staging.glob("tokenizer*"):
        if tokenizer.is_dir() and not (tokenizer / "vocab.json").is_file():
            vocab, merges = clip_vocabulary()
            (tokenizer / "vocab.json").write_text(vocab)
            (tokenizer / "merges.txt").write_text(merges)
    try:
        staging.rename(target)
    except OSError:  # another process got there first: its copy is the same
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _cache_root() -> Path:
    root = Path(os.environ.get("GARDEN_CACHE_DIR") or Path(tempfile.gettempdir()) / "emotion-garden") / "checkpoint-configs"
    root.mkdir(parents=True, exist_ok=True)
    return root


@memoized(key="nothing", fresh="none: open_clip's BPE file, installed with the code", maxsize=1)
def clip_vocabulary() -> tuple[str, str]:
    """(vocab.json, merges.txt) of OpenAI CLIP's tokenizer (49,408 tokens), from open_clip's BPE file.

    The order is CLIP's SimpleTokenizer's: the 256 byte symbols, the same with ``</w>``, the 48,894
    merges, then ``<|startoftext|>`` and ``<|endoftext|>``.
    """
    source = clip_tokens.bpe_file()
    if source is None:
        raise ModelUnavailable(
            "The CLIP vocabulary for single-file checkpoints ships in open_clip_torch: pip install --no-deps -r requirements/models.txt."
        )
    merges = clip_tokens.bpe_merges(source)
    symbols = checkpoints.bytes_to_unicode()
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + ["".join(merge.split()) for merge in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = json.dumps({token: index for index, token in enumerate(tokens)}, ensure_ascii=False)
    return vocab, "#version: 0.2\n" + "\n".join(merges) + "\n"
