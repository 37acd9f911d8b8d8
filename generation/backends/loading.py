"""Loading a diffusers pipeline for DiffusersBackend: torch and diffusers imported lazily, the
device, the dtype, the placement (whole on the device, or diffusers' CPU offload), the CUDA
tuning, VAE tiling and slicing, and this process's share of the card.

Worker-side only (the web tier never imports torch). Split from generation.backends.diffusion
(which calls the pipeline) so that loading and calling read apart; diffusion re-exports the names
other modules import from it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from pathlib import Path

from generation.backends import SAMPLERS, ModelUnavailable, sampler_options

log = logging.getLogger(__name__)

SETTING_HINT = (
    "Set GARDEN_DIFFUSION_MODEL to a local folder holding a diffusers text-to-image pipeline "
    "(model_index.json) or to a Hugging Face hub id already in the local cache; to download from the hub, "
    "also set GARDEN_HF_OFFLINE=false. GARDEN_GENERATOR_BACKEND=procedural needs no model."
)
# Our dtype names (GARDEN_DIFFUSION_DTYPE, LibraryEntry.dtype) → torch's.
TORCH_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
# Where a pipeline's dtype and offload come from, for error messages.
DTYPE_SETTING = "GARDEN_DIFFUSION_DTYPE (or the model's dtype in the library admin)"
OFFLOAD_SETTING = "GARDEN_DIFFUSION_OFFLOAD (or the model's offload in the library admin)"


def import_torch():
    """torch and diffusers, imported when a pipeline is first needed, never by the web tier.

    Hugging Face stays offline unless GARDEN_HF_OFFLINE says otherwise: huggingface_hub reads
    HF_HUB_OFFLINE at import time; settings set it, and so does this, in case the backend is used
    outside Django's settings (the benchmark, a notebook)."""
    if os.environ.get("GARDEN_HF_OFFLINE", "true").lower() not in ("0", "false", "no", "off"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import diffusers
    import torch

    return torch, diffusers


def pick_device(torch, requested: str) -> str:
    """GARDEN_DIFFUSION_DEVICE made concrete: ``auto`` is cuda, then mps, then cpu."""
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def choose_dtype(choice: str, device: str, *, transformer: bool) -> str:
    """GARDEN_DIFFUSION_DTYPE (or a model's) made concrete: an explicit choice stands; auto is fp32
    off CUDA, bf16 for a transformer model on CUDA, fp16 for a UNet model on CUDA."""
    if choice != "auto":
        return choice
    if not device.startswith("cuda"):
        return "fp32"
    return "bf16" if transformer else "fp16"


def pick_dtype(torch, diffusers, device: str, *, choice: str, model: str, offline: bool):
    """The dtype choice as a torch dtype: auto is fp32 off CUDA (CPUs want fp32; MPS fp16 is not
    reliable enough), bf16 for transformer families on CUDA (Flux gives NaNs in fp16) and fp16
    for UNet models on CUDA (half the memory, about twice the speed of fp32)."""
    transformer = False
    if choice == "auto" or device.startswith("cuda"):
        transformer = is_transformer_model(diffusers, model, offline=offline)
    choice = choose_dtype(choice, device, transformer=transformer)
    if choice == "bf16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise ModelUnavailable(f"This GPU ({device}) has no bf16 for {model}: set {DTYPE_SETTING} to fp16 or fp32.")
    if choice == "fp16" and transformer:
        log.warning("%s is a transformer model in fp16: Flux-class models may paint NaNs (black); bf16 is their dtype.", model)
    return getattr(torch, TORCH_DTYPES[choice])


def is_transformer_model(diffusers, model: str, *, offline: bool = True) -> bool:
    """Whether ``model``'s pipeline (a diffusers folder or cached hub id) denoises with a transformer
    (Flux, SD3, PixArt, Sana) rather than a UNet, read from its model_index.json alone; False when
    there is none to read (a single-file checkpoint: SD families)."""
    if Path(model).is_file():  # load_config would read the whole checkpoint as JSON text
        return False
    try:
        config = diffusers.DiffusionPipeline.load_config(model, local_files_only=offline)
    except Exception:
        return False
    return "transformer" in config and "unet" not in config


def place(pipeline, device: str, *, offload: str, model: str) -> None:
    """The whole pipeline on ``device``, or diffusers' CPU offload onto it (GARDEN_DIFFUSION_OFFLOAD)."""
    if offload == "none":
        import torch

        try:
            pipeline.to(device)
        except torch.cuda.OutOfMemoryError as exc:
            with contextlib.suppress(Exception):
                pipeline.to("cpu")  # give back what was moved before the next model or job tries
            free_gpu_memory(torch)
            raise ModelUnavailable(
                f"{model} does not fit in {device}'s memory ({exc}). Offload it (GARDEN_DIFFUSION_OFFLOAD=model, "
                "or the model's offload in the library admin), keep fewer models loaded (GARDEN_DIFFUSION_MAX_LOADED), "
                "or give this worker more of the card (GARDEN_DIFFUSION_MEMORY_GB)."
            ) from exc
        except Exception as exc:
            raise ModelUnavailable(f"Cannot move the model to device {device!r} ({exc}). Set GARDEN_DIFFUSION_DEVICE.") from exc
        return
    if device.split(":")[0] not in ("cuda", "mps", "xpu"):
        raise ModelUnavailable(
            f"Offload {offload!r} for {model} keeps the weights in CPU memory and moves them to a GPU as they run: "
            f"it needs a GPU, and this worker paints on {device!r}. Set {OFFLOAD_SETTING} to none, "
            "or GARDEN_DIFFUSION_DEVICE to a GPU."
        )
    try:
        if offload == "model":  # one component (text encoder, denoiser, VAE) on the GPU at a time
            pipeline.enable_model_cpu_offload(device=device)
        else:  # one layer at a time: the least memory, the slowest
            pipeline.enable_sequential_cpu_offload(device=device)
    except Exception as exc:
        raise ModelUnavailable(
            f"Cannot offload {model} onto {device!r} ({type(exc).__name__}: {exc}): set {OFFLOAD_SETTING} to none."
        ) from exc


def tune_cuda(torch, pipeline) -> None:
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    # Scaled-dot-product attention (flash/memory-efficient kernels): the diffusers default on
    # torch 2, set explicitly so a model saved with another processor still gets it.
    try:
        from diffusers.models.attention_processor import AttnProcessor2_0

        if getattr(pipeline, "unet", None) is not None:  # transformers (Flux, SD3) keep their own processors
            pipeline.unet.set_attn_processor(AttnProcessor2_0())
    except Exception:  # some architectures (DiT, Flux) have their own processors
        log.info("keeping the model's own attention processors", exc_info=True)


def enable_vae_options(pipeline, *, tiling: bool, slicing: bool, model: str) -> None:
    """GARDEN_DIFFUSION_VAE_TILING / _SLICING on the pipeline's VAE; a model without such a VAE is refused."""
    if not (tiling or slicing):
        return
    vae = getattr(pipeline, "vae", None)
    if vae is None or not hasattr(vae, "enable_tiling"):
        raise ModelUnavailable(
            f"The model {model!r} has no VAE that decodes by tiles or slices: "
            "set GARDEN_DIFFUSION_VAE_TILING and GARDEN_DIFFUSION_VAE_SLICING to false for its worker."
        )
    if tiling:
        vae.enable_tiling()
    if slicing:
        vae.enable_slicing()


def free_gpu_memory(torch) -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def memory_fraction(memory_gb: float, total_bytes: int, device: str) -> float:
    """GARDEN_DIFFUSION_MEMORY_GB as torch's per-process fraction of the card (0: the whole card)."""
    if memory_gb <= 0:
        return 1.0
    total_gb = total_bytes / 1024**3
    if memory_gb > total_gb:
        raise ModelUnavailable(
            f"GARDEN_DIFFUSION_MEMORY_GB={memory_gb:g} is more than {device} has ({total_gb:.1f} GB): "
            "set it to this worker's share of the card, or 0 for the whole card."
        )
    return memory_gb / total_gb


_budgets: dict[int, float] = {}  # CUDA device index → the fraction set in this process


def apply_memory_budget(torch, device: str, memory_gb: float) -> None:
    """Cap this process's CUDA caching allocator at GARDEN_DIFFUSION_MEMORY_GB of the card, so a job
    worker and a live worker share one card; past it, torch raises OutOfMemoryError in this process."""
    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    fraction = memory_fraction(memory_gb, torch.cuda.get_device_properties(index).total_memory, device)
    if _budgets.get(index) == fraction:
        return
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    _budgets[index] = fraction
    log.info("GPU memory budget on %s: %.0f%% of the card (GARDEN_DIFFUSION_MEMORY_GB=%g)", device, fraction * 100, memory_gb)


def flow_matching(scheduler) -> bool:
    """Flux's and SD3's schedulers: the samplers here (DDPM-family schedulers) cannot replace them."""
    return type(scheduler).__name__.startswith("FlowMatch")


def make_scheduler(diffusers, name: str, config):
    """The scheduler of sampler ``name`` (generation.backends.SAMPLERS) built from a model's config."""
    scheduler_class = getattr(diffusers, SAMPLERS[name] or "")
    return scheduler_class.from_config(config, **sampler_options(name))


def out_of_memory_message(batch, exc: BaseException, *, options: dict, dtype_name: str, model: str) -> str:
    """What a job that cannot fit says: what it asked for and each setting that would make it fit."""
    memory_gb = options["memory_gb"]
    budget = f"GARDEN_DIFFUSION_MEMORY_GB={memory_gb:g}" if memory_gb else "the whole card (GARDEN_DIFFUSION_MEMORY_GB=0)"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"Out of GPU memory twice painting {len(batch.seeds)} picture(s) of {batch.width}x{batch.height} with {model} "
        f"({dtype_name}, offload {options['offload']}, {budget}): {first_line}. To make it fit: fewer pictures per call "
        "(GARDEN_DIFFUSION_BATCH_SIZE) or a smaller size; GARDEN_DIFFUSION_OFFLOAD=model (or sequential, or the model's "
        "offload in the library admin); GARDEN_DIFFUSION_VAE_TILING=true and GARDEN_DIFFUSION_VAE_SLICING=true; "
        "or more of the card for this worker (GARDEN_DIFFUSION_MEMORY_GB)."
    )
