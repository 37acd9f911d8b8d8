"""Single-file checkpoints: what a ``.safetensors`` file is, read from its header alone.

A safetensors file starts with 8 bytes (little-endian header length) and a JSON header of tensor
names, dtypes and shapes; the weights follow. This module reads that header (never a weight, no
torch: the web tier scans the library) and tells a checkpoint's family from its key names and
shapes, as diffusers' ``infer_diffusers_model_type`` does from a loaded state dict:

- the UNet's keys ``model.diffusion_model.*``; its first convolution's input channels (9: inpainting);
- the text encoders: ``cond_stage_model.transformer.*`` (CLIP ViT-L: SD 1.x),
  ``cond_stage_model.model.*`` (OpenCLIP: SD 2.x), ``conditioner.embedders.0/1.*`` (SDXL's two);
- ``double_blocks.*`` (Flux) and ``joint_blocks.*`` (SD 3) transformers, which ship without their
  text encoders in one file and are not usable from a single file here;
- a VAE alone (``encoder.*``/``decoder.*``).

The config folder each family loads with ships in library/checkpoint_configs (written by
bin/make-checkpoint-configs); a folder ``<stem>.config`` beside a checkpoint overrides it (tiny or
unusual models), and an A1111 ``<stem>.yaml`` beside it is read for ``parameterization: "v"``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "checkpoint_configs"
# A header larger than this is not a safetensors header (real ones are a few MB at most).
MAX_HEADER_BYTES = 100 * 1024 * 1024
UNET = "model.diffusion_model."
FIRST_CONV = UNET + "input_blocks.0.0.weight"


class HeaderError(ValueError):
    """Not a readable safetensors file (truncated, foreign, or a pickle renamed)."""


@dataclass(frozen=True)
class Header:
    shapes: dict[str, list[int]]
    metadata: dict[str, str]
    # Each tensor's data_offsets as the header gives them (unchecked) and the byte the data starts at:
    # an install checks that a download's tensors lie within it (library.services.install.verification).
    offsets: dict[str, object] = field(default_factory=dict)
    data_start: int = 0

    def has_prefix(self, prefix: str) -> bool:
        return any(key.startswith(prefix) for key in self.shapes)


@dataclass
class Checkpoint:
    """What the header says a file is. ``kind``: "pipeline" (a whole model), "vae", or "" (not a
    checkpoint); ``config``: the config folder name it loads with; ``usable`` False with ``reason``."""

    kind: str
    family: str = "other"
    config: str = ""
    inpaint: bool = False
    usable: bool = True
    reason: str = ""
    details: dict = field(default_factory=dict)


def read_header(path: Path) -> Header:
    """Names, shapes and metadata of a safetensors file, reading its header only."""
    with open(path, "rb") as stream:
        start = stream.read(8)
        if len(start) != 8:
            raise HeaderError("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", start)
        if not 2 <= length <= MAX_HEADER_BYTES:
            raise HeaderError(f"header length {length} is not a safetensors header")
        raw = stream.read(length)
    if len(raw) != length:
        raise HeaderError("truncated header")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise HeaderError(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise HeaderError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    shapes = {name: list(entry.get("shape", [])) for name, entry in header.items() if isinstance(entry, dict)}
    offsets = {name: entry.get("data_offsets") for name, entry in header.items() if isinstance(entry, dict)}
    return Header(shapes, {str(k): str(v) for k, v in metadata.items()}, offsets, 8 + length)


def classify(path: Path, header: Header) -> Checkpoint:
    """The family of a single-file model from its header (and the name and files beside it)."""
    shapes = header.shapes
    if header.has_prefix("double_blocks.") or header.has_prefix(UNET + "double_blocks."):
        return _transformer_only("flux", "Flux", "black-forest-labs/FLUX.1-schnell")
    if header.has_prefix("joint_blocks.") or header.has_prefix(UNET + "joint_blocks."):
        return _transformer_only("sd3", "SD 3", "stabilityai/stable-diffusion-3.5-medium")
    if not header.has_prefix(UNET):
        if header.has_prefix("encoder.down.") and header.has_prefix("decoder.up."):
            return Checkpoint("vae", family=_vae_family(header), details={"layout": "ldm"})
        if header.has_prefix("encoder.down_blocks.") and header.has_prefix("decoder.up_blocks."):
            return Checkpoint("vae", family=_vae_family(header), details={"layout": "diffusers"})
        return Checkpoint("")
    inpaint = len(shapes.get(FIRST_CONV, [])) > 1 and shapes[FIRST_CONV][1] == 9
    details: dict = {"layout": "ldm", "in_channels": shapes.get(FIRST_CONV, [0, 0])[1]}
    name = path.name.lower()
    turbo = "turbo" in name or "turbo" in header.metadata.get("modelspec.title", "").lower()
    if header.has_prefix("conditioner.embedders.1."):
        family, config = ("turbo", "sdxl-turbo") if turbo else ("sdxl", "sdxl")
        details["base"] = "sdxl"
    elif header.has_prefix("conditioner.embedders.0.model."):
        return Checkpoint(
            "pipeline",
            "sdxl",
            usable=False,
            reason="an SDXL refiner: it only repaints pictures (image-to-image), it cannot paint from text",
        )
    elif header.has_prefix("cond_stage_model.model."):
        details["base"] = "sd2"
        if turbo:
            family, config = "turbo", "sd-turbo"
        elif inpaint or not _v_prediction(path, header):
            family, config = "sd2", "sd2"
        else:
            family, config = "sd2", "sd2-v"
            details["prediction_type"] = "v_prediction"
    elif header.has_prefix("cond_stage_model.transformer."):
        family, config = "sd1", "sd1"
        details["base"] = "sd1"
    else:
        return Checkpoint("pipeline", usable=False, reason="a UNet without a known text encoder (not SD 1.x, 2.x or XL)")
    if inpaint:
        config = {"sd1": "sd1-inpaint", "sd2": "sd2-inpaint", "sdxl": "sdxl-inpaint"}.get(details["base"], config)
        if config.endswith("turbo"):
            return Checkpoint("pipeline", family, usable=False, reason="a turbo inpainting model: no config ships for it")
    return Checkpoint("pipeline", family, config=config, inpaint=inpaint, details=details)


def _transformer_only(family: str, label: str, repo: str) -> Checkpoint:
    return Checkpoint(
        "pipeline",
        family,
        usable=False,
        reason=(
            f"a {label} transformer in one file, without its text encoders: "
            f"install the diffusers folder instead (manage.py install_model {repo})"
        ),
    )


def _vae_family(header: Header) -> str:
    """SDXL's VAE has the same shapes as SD's: its metadata or name may tell, else "other"."""
    title = " ".join(header.metadata.values()).lower()
    return "sdxl" if "xl" in title else "other"


def _v_prediction(path: Path, header: Header) -> bool:
    """SD 2.x comes as 768-pixel v-prediction (2.0-v, 2.1) or 512-pixel epsilon (-base): the weights
    do not tell. An A1111 .yaml beside it, the metadata or the name do; else v (2.1, the common one)."""
    yaml = path.with_suffix(".yaml")
    if yaml.is_file():
        text = yaml.read_text(errors="replace")
        return 'parameterization: "v"' in text or "parameterization: v" in text
    spec = header.metadata.get("modelspec.prediction_type", "")
    if spec:
        return spec.lower() in ("v", "v_prediction")
    name = path.name.lower()
    return not ("base" in name or "512" in name)


def config_folder(path: Path, checkpoint: Checkpoint) -> Path:
    """The config folder a checkpoint loads with: ``<stem>.config`` beside it, else the shipped one."""
    beside = path.with_name(path.stem + ".config")
    if (beside / "model_index.json").is_file():
        return beside
    return CONFIGS / checkpoint.config


def is_checkpoint_config(folder: Path) -> bool:
    """A ``<stem>.config`` folder is a checkpoint's configs, not a pipeline of the library."""
    stem = folder.name.removesuffix(".config")
    return folder.name.endswith(".config") and any((folder.parent / (stem + suffix)).is_file() for suffix in (".safetensors", ".ckpt"))


def bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values, in CLIP's vocabulary order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]
