"""The models folder as files: what each file or folder under GARDEN_MODELS_DIR is (docs/models.md).

Torch-free (the web tier scans): safetensors headers only, pickles never unpickled for real.

- a folder holding ``model_index.json``: a diffusers pipeline, its family from its configs;
- a ``.safetensors`` file: a LoRA (kohya, peft or diffusers keys; LyCORIS files are listed as not
  usable), an embedding, a single-file checkpoint (library.checkpoints), or a VAE;
- files under a ``vae/`` folder are VAEs, under ``upscalers/`` upscalers (ESRGAN family);
- folders under ``controlnet/`` ControlNets, under ``tagger/`` WD14 taggers (library.retouch_models);
- ``.ckpt`` and ``.pth`` pickles: named and shaped through a restricted unpickler that builds no
  object but shapes; usable only when GARDEN_MODELS_ALLOW_CKPT allows loading them.

Each file's sha256 is computed once per size and modification time (``Identity``); an install's
sidecar (``<file>.source.json``, ``<folder>/.source.json``) says where it came from.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import pickle
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings

from library import checkpoints, completeness, manifests, retouch_models, upscaler_layouts
from library.models import LibraryEntry

Kind, Family = LibraryEntry.Kind, LibraryEntry.Family
EMBEDDING_KEYS = ("emb_params", "string_to_param", "clip_l", "clip_g")
LORA_MARKERS = ("lora_unet_", "lora_te", "lora_A", "lora_B", "lora_down", "lora_up", "lora.down", "lora.up")
# LyCORIS variants diffusers' LoRA converters do not load (LoHa, LoKr, OFT, (IA)^3).
LYCORIS_MARKERS = ("hada_w1", "lokr_w1", "oft_blocks", "oft_diag", ".on_input")
# A single-tensor embedding holds a few vectors of the text encoder's width (≤ 2048 for SDXL's).
EMBEDDING_MAX_ELEMENTS = 75 * 2048
PICKLES = (".ckpt", ".pth", ".pt", ".bin")
WEIGHT_FILES = (".safetensors", ".ckpt", ".pth")
# Transformer pipeline classes this product paints with, by family: each proven through a real job
# (tests/generation/test_transformer_models.py); others of these families are listed, not usable.
PIPELINE_FAMILIES = {"FluxPipeline": Family.FLUX, "StableDiffusion3Pipeline": Family.SD3, "PixArtAlphaPipeline": Family.PIXART}
UNPROVEN_FAMILIES = {"PixArtSigmaPipeline": Family.PIXART, "SanaPipeline": Family.PIXART, "FluxKontextPipeline": Family.FLUX}
INPAINT_REASON = "an inpainting model: it repaints parts of pictures (GARDEN_RETOUCH_INPAINT_MODEL), not whole ones from text"
CKPT_REASON = (
    "a pickle (.ckpt/.pth), which can run code when loaded: convert it (manage.py convert_checkpoint) "
    "or set GARDEN_MODELS_ALLOW_CKPT=true to load it with torch's weights_only unpickler"
)


@dataclass(frozen=True)
class Found:
    kind: str
    name: str
    path: str  # relative to the models folder
    family: str
    size_bytes: int
    details: dict
    usable: bool = True
    reason: str = ""
    file: Path | None = None  # the file whose sha256 identifies it (None: a folder)
    source: dict = field(default_factory=dict)  # the install sidecar, if any
    stamp: tuple = ()  # what stamp_of said when the walk found it (compared again before it is listed)
    whole: bool = True  # False: cut short or still being copied (never hashed: its bytes so far are nobody's file)


def walk(root: Path, skipped: list[tuple[str, str]]) -> list[Found]:
    found: list[Found] = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        folder_path = Path(folder)
        subfolders.sort()
        if "model_index.json" in files and not checkpoints.is_checkpoint_config(folder_path):
            # A pipeline's own files (unet/…safetensors) are not LoRAs. (GARDEN_MODELS_DIR may itself
            # be one pipeline folder: a library of one, at path ".".)
            subfolders[:] = []
            try:
                found.append(_stamped(pipeline_folder(root, folder_path), folder_path))
            except (OSError, ValueError) as exc:
                skipped.append((_relative(root, folder_path), f"unreadable model_index.json: {exc}"))
            continue
        subfolders[:] = [
            name for name in subfolders if not name.startswith(".") and not checkpoints.is_checkpoint_config(folder_path / name)
        ]
        role = _role(root, folder_path)
        if role == Kind.VAE and (folder_path / "config.json").is_file() and folder_path != root:
            subfolders[:] = []
            found.append(_stamped(_vae_folder(root, folder_path), folder_path))
            continue
        if folder_path != root and retouch_models.is_model_folder(role, folder_path, files):
            subfolders[:] = []
            found.append(_stamped(_retouch_folder(root, folder_path, role), folder_path))
            continue
        for name in sorted(files):
            path = folder_path / name
            if path.suffix not in WEIGHT_FILES:
                continue
            try:
                stamp = completeness.stamp_of(path)
                item = weights_file(root, path, role)
            except Exception as exc:  # a foreign file: say so, keep scanning
                skipped.append((_relative(root, path), f"unreadable: {exc}"))
                continue
            if item is None:
                skipped.append((_relative(root, path), "not a model, LoRA, embedding, VAE or upscaler"))
            else:
                found.append(replace(item, stamp=stamp))
    return found


def _stamped(item: Found, folder: Path) -> Found:
    return replace(item, stamp=completeness.stamp_of(folder))


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _role(root: Path, folder: Path) -> str:
    """Files under a ``vae/`` folder are VAEs, under ``upscalers/`` (or A1111's ``ESRGAN/``) upscalers;
    folders under ``controlnet/`` ControlNets, under ``tagger/`` taggers."""
    parts = {part.lower() for part in folder.relative_to(root).parts}
    if parts & {"vae", "vaes"}:
        return Kind.VAE
    if parts & {"upscalers", "esrgan", "realesrgan", "upscale_models"}:
        return Kind.UPSCALER
    return retouch_models.role_of(parts)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def folder_size(folder: Path) -> int:
    """The model's files' bytes, as its manifest counts them: dot-named ones (the install sidecar, a
    hub ``.cache``) are this host's, and a copy fetched from the store has other ones or none."""
    return sum(path.stat().st_size for path in manifests.files_of(folder))


def pipeline_folder(root: Path, folder: Path) -> Found:
    index = json.loads((folder / "model_index.json").read_text())
    class_name = str(index.get("_class_name", ""))
    unet = read_json(folder / "unet" / "config.json")
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json")
    readme = (folder / "README.md").read_text(errors="replace")[:20000].lower() if (folder / "README.md").is_file() else ""
    name = folder.name
    cross_attention = unet.get("cross_attention_dim")
    prediction = scheduler.get("prediction_type", "")
    usable, reason = True, ""
    if class_name in PIPELINE_FAMILIES:
        family = PIPELINE_FAMILIES[class_name]
    elif (
        "turbo" in name.lower()
        or "turbo" in class_name.lower()
        or "adversarial diffusion distillation" in readme
        or "turbo" in readme[:2000]
    ):
        family = Family.TURBO
    elif "XL" in class_name:
        family = Family.SDXL
    elif class_name.startswith("StableDiffusion") and (cross_attention == 1024 or prediction == "v_prediction"):
        family = Family.SD2
    elif class_name.startswith("StableDiffusion"):
        family = Family.SD1
    else:
        family, usable = UNPROVEN_FAMILIES.get(class_name, Family.OTHER), False
        reason = f"a {class_name or 'unknown'} model: this product paints with SD 1.x, 2.x, XL, turbo, Flux, SD 3 and PixArt-α"
    if usable and unet.get("in_channels") == 9:
        usable, reason = False, INPAINT_REASON
    shortfall = completeness.folder_shortfall(folder, index)
    if shortfall:
        usable, reason = False, shortfall
    details = {"class_name": class_name, "cross_attention_dim": cross_attention, "prediction_type": prediction, "format": "diffusers"}
    return Found(
        Kind.PIPELINE, name, _relative(root, folder), family, folder_size(folder), details, usable, reason,
        source=read_json(folder / ".source.json"), whole=not shortfall,
    )  # fmt: skip


def _vae_folder(root: Path, folder: Path) -> Found:
    config = read_json(folder / "config.json")
    family = Family.SDXL if config.get("scaling_factor") == 0.13025 else Family.OTHER
    details = {"format": "diffusers", "class_name": config.get("_class_name", "")}
    return Found(
        Kind.VAE, folder.name, _relative(root, folder), family, folder_size(folder), details, source=read_json(folder / ".source.json")
    )


def _retouch_folder(root: Path, folder: Path, role: str) -> Found:
    family, details, usable, reason, whole = retouch_models.describe(role, folder)
    source = read_json(folder / ".source.json")
    size = folder_size(folder)
    return Found(role, folder.name, _relative(root, folder), family, size, details, usable, reason, source=source, whole=whole)


def weights_file(root: Path, path: Path, role: str = "") -> Found | None:
    relative, size = _relative(root, path), path.stat().st_size
    source = read_json(path.with_name(path.name + ".source.json"))
    pickled = path.suffix in PICKLES
    if pickled and completeness.broken_zip(path):
        why = "incomplete or damaged: its zip directory cannot be read (cut short, or still being copied)"
        kind = role or Kind.PIPELINE
        format_only = {"format": path.suffix.lstrip(".")}
        return Found(kind, path.stem, relative, Family.OTHER, size, format_only, False, why, path, source, whole=False)
    header = checkpoints.Header(pickle_shapes(path), {}) if pickled else checkpoints.read_header(path)
    usable, reason = (
        (settings.GARDEN_MODELS_ALLOW_CKPT, "" if settings.GARDEN_MODELS_ALLOW_CKPT else CKPT_REASON) if pickled else (True, "")
    )
    shortfall = "" if pickled else completeness.safetensors_shortfall(path, header)
    if shortfall:  # listed, never offered: the reason says what is wrong, a later scan reads it again
        usable, reason = False, shortfall

    def entry(kind: str, family: str, details: dict, ok: bool = True, why: str = "") -> Found:
        details = {**details, "format": path.suffix.lstrip(".")}
        return Found(
            kind, path.stem, relative, family, size, details, usable and ok, reason or why, file=path, source=source, whole=not shortfall
        )  # fmt: skip

    keys = list(header.shapes)
    if role == Kind.CONTROLNET:  # a single file: the engine loads folders
        return entry(Kind.CONTROLNET, Family.OTHER, {"keys": len(keys)}, False, retouch_models.SINGLE_FILE_CONTROLNET)
    if role == Kind.TAGGER:  # taggers are ONNX folders: a weights file here is nothing this product reads
        return None
    if role == Kind.UPSCALER:  # only the ESRGAN family (RRDBNet) runs here: its shapes give the scale
        try:
            network = upscaler_layouts.describe(header.shapes)
        except upscaler_layouts.NotAnUpscaler as exc:
            return entry(Kind.UPSCALER, Family.OTHER, {"keys": len(keys)}, False, str(exc))
        return entry(Kind.UPSCALER, Family.OTHER, {key: network[key] for key in ("architecture", "layout", "scale")})
    if any(marker in key for key in keys for marker in LYCORIS_MARKERS):
        why = "a LyCORIS file (LoHa, LoKr or OFT): diffusers loads LoRAs only"
        return entry(Kind.LORA, _lora_family(keys, header.metadata), {"keys": len(keys)}, False, why)
    if any(marker in key for key in keys for marker in LORA_MARKERS):
        details: dict = {"keys": len(keys)}
        for name in ("ss_base_model_version", "ss_sd_model_name", "ss_output_name"):
            if header.metadata.get(name):
                details[name.removeprefix("ss_")] = header.metadata[name]
        return entry(Kind.LORA, _lora_family(keys, header.metadata), details)
    embedding_keys = [key for key in keys if key in EMBEDDING_KEYS or key.startswith("string_to_param")]
    if embedding_keys:
        family = Family.SDXL if {"clip_l", "clip_g"} & set(keys) else Family.OTHER
        return entry(Kind.EMBEDDING, family, {"keys": keys[:8]})
    checkpoint = checkpoints.classify(path, header)
    if checkpoint.kind == "pipeline" and role != Kind.VAE:
        ok, why = checkpoint.usable, checkpoint.reason
        if ok and checkpoint.inpaint:
            ok, why = False, INPAINT_REASON
        return entry(Kind.PIPELINE, checkpoint.family, {**checkpoint.details, "config": checkpoint.config}, ok, why)
    if checkpoint.kind == "vae" or role == Kind.VAE:
        return entry(Kind.VAE, checkpoint.family if checkpoint.kind == "vae" else Family.OTHER, checkpoint.details)
    if len(keys) == 1:
        shape = header.shapes[keys[0]]
        elements = 1
        for side in shape:
            elements *= side
        if len(shape) <= 2 and elements <= EMBEDDING_MAX_ELEMENTS:
            return entry(Kind.EMBEDDING, _width_family(shape[-1] if shape else 0), {"keys": keys, "shape": shape})
    return None


def _width_family(width: int) -> str:
    return {768: Family.SD1, 1024: Family.SD2}.get(width, Family.OTHER)


def _lora_family(keys: list[str], metadata: dict) -> str:
    base = metadata.get("ss_base_model_version", "").lower()
    if "sdxl" in base or any(key.startswith(("lora_te2_", "text_encoder_2.")) for key in keys):
        return Family.SDXL
    if base.startswith("sd_v2") or base.startswith("sd_2"):
        return Family.SD2
    if base.startswith("sd_v1") or base.startswith("sd_1"):
        return Family.SD1
    if any(key.startswith(("transformer.", "lora_transformer_")) for key in keys):
        return Family.FLUX
    return Family.OTHER


# --- pickles, read for names and shapes only ----------------------------------------------------


class _Shape:
    def __init__(self, shape):
        self.shape = list(shape)


class _Inert:
    """Whatever else a pickle names (a Lightning callback, an optimizer state): built as nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _ShapeUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint into {name: _Shape}: tensors become their shapes, every other
    global an inert stand-in, so no code of the file's choosing runs."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return lambda storage, offset, size, *rest: _Shape(size)
        if module == "torch._tensor" and name == "_rebuild_from_type_v2":
            return lambda function, kind, args, state: function(*args)
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *rest: data
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        return _Inert

    def persistent_load(self, pid):
        return None


def pickle_shapes(path: Path) -> dict[str, list[int]]:
    """The tensors' names and shapes of a torch zip checkpoint (``torch.save``'s format)."""
    with zipfile.ZipFile(path) as archive:
        data = next((name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl"), None)
        if data is None:
            raise ValueError("not a torch checkpoint (no data.pkl)")
        loaded = _ShapeUnpickler(archive.open(data)).load()
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise ValueError("not a state dict")
    return {str(key): value.shape for key, value in loaded.items() if isinstance(value, _Shape)}


# --- identity -----------------------------------------------------------------------------------


def file_stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def sha256_of(path: Path) -> str:
    """The file's sha256 (hashlib's file_digest: OpenSSL over large reads, about sha256sum's speed)."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def identity(item: Found, sha256: str, hashed: list[int] | None) -> tuple[str, list[int]]:
    """(sha256, stamp) of ``item``'s file: the row's (``sha256`` as hashed at stamp ``hashed``) or
    the install sidecar's when the size and modification time match, else computed now. A file
    that is not whole has none: a hash of its bytes so far would name no file anyone has."""
    if item.file is None or not item.whole:
        return "", []
    stamp = file_stamp(item.file)
    if sha256 and hashed == stamp:
        return sha256, stamp
    if item.source.get("sha256") and [item.source.get("size"), item.source.get("mtime_ns")] == stamp:
        return str(item.source["sha256"]), stamp
    return sha256_of(item.file), stamp
