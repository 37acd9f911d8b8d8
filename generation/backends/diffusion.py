"""The diffusers backend: text-to-image from one model (a library pipeline, or GARDEN_DIFFUSION_MODEL:
a hub id or a local folder).

Only worker processes import this module (the web tier never imports torch). A pipeline is
loaded on first use inside the process that runs it and kept while it stays among the
GARDEN_DIFFUSION_MAX_LOADED most recently used (generation.backends.LoadedPipelines); concurrency
1 per worker process, because schedulers are stateful and a prefork parent that touched torch
before forking hangs its children.

Per batch: the sampler (``batch.sampler``, or the model's own) and the LoRAs (``batch.loras``,
files in ``batch.extra["lora_paths"]``) are set for that call only; the next batch sets its own.
A batch with an ``init_image`` is painted by the model's image-to-image pipeline, made with
``from_pipe`` on the loaded one (same weights, no second copy in memory), at its
``denoising_strength``.

Memory and precision (docs/models.md#memory-and-precision): the dtype (GARDEN_DIFFUSION_DTYPE, or
the library entry's: auto is fp32 off CUDA, bf16 for transformer families such as Flux and SD3 on
CUDA, fp16 otherwise), offload (GARDEN_DIFFUSION_OFFLOAD or the entry's: diffusers' model or
sequential CPU offload instead of moving the whole pipeline to the GPU), VAE tiling and slicing,
and this process's share of the card (GARDEN_DIFFUSION_MEMORY_GB). A call that runs out of GPU
memory is tried once more after emptying the cache; a second out-of-memory fails the job with the
settings that would make it fit (a retry of the job would only run out again).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from generation.backends import (
    DTYPES,
    OFFLOADS,
    SAMPLERS,
    BackendError,
    Batch,
    ModelUnavailable,
    StepCallback,
    checkpoints,
    conditioning,
    loras,
    safety_checker,
)

log = logging.getLogger(__name__)

# Names accepted by GARDEN_DIFFUSION_SCHEDULER and a batch's sampler → diffusers scheduler classes
# ("default": the scheduler the model was saved with); torch-free, in generation.backends.
SCHEDULERS = SAMPLERS
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


class DiffusersBackend:
    name = "diffusers"

    def __init__(
        self,
        *,
        model: str,
        device: str = "auto",
        scheduler: str = "default",
        compile_unet: bool = False,
        offline: bool = True,
        dtype: str = "auto",
        offload: str = "none",
        vae_tiling: bool = False,
        vae_slicing: bool = False,
        memory_gb: float = 0.0,
    ):
        if scheduler not in SCHEDULERS:
            raise ModelUnavailable(f"Unknown scheduler {scheduler!r}: set GARDEN_DIFFUSION_SCHEDULER to one of {', '.join(SCHEDULERS)}.")
        if dtype not in DTYPES:
            raise ModelUnavailable(f"Unknown dtype {dtype!r} for {model}: set {DTYPE_SETTING} to one of {', '.join(DTYPES)}.")
        if offload not in OFFLOADS:
            raise ModelUnavailable(f"Unknown offload {offload!r} for {model}: set {OFFLOAD_SETTING} to one of {', '.join(OFFLOADS)}.")
        # What this pipeline is built with besides its model (LoadedPipelines compares them).
        self.options = {
            "device": device,
            "scheduler": scheduler,
            "compile_unet": compile_unet,
            "offline": offline,
            "dtype": dtype,
            "offload": offload,
            "vae_tiling": vae_tiling,
            "vae_slicing": vae_slicing,
            "memory_gb": memory_gb,
        }
        self.model = model
        self.label = ""  # the library's name for the model ("" outside the library)
        self.requested_device = device
        self.scheduler_choice = scheduler
        self.compile_unet = compile_unet
        self.offline = offline
        self.pipeline: Any = None
        self.checker: safety_checker.DiffusersSafetyChecker | None = None  # the model's own, run beside it
        self._img2img: Any = None  # the image-to-image pipeline on the same components, made on first use
        self.device: str | None = None
        self.dtype_name = ""
        self.load_seconds = 0.0
        self._lock = threading.Lock()
        self._schedulers: dict[str, Any] = {}  # sampler name → scheduler instance, "" = the model's own
        self.active_loras: list[dict] = []  # the LoRAs of the last batch: [{"name", "weight"}]
        self.sampler = ""  # the sampler of the last batch ("" = the model's own)

    @property
    def model_id(self) -> str:
        return self.model

    @property
    def scheduler_name(self) -> str:
        """The model's own scheduler (GARDEN_DIFFUSION_SCHEDULER's choice); a batch may use another."""
        if self._schedulers.get(""):
            return type(self._schedulers[""]).__name__
        return self.scheduler_choice

    def describe(self) -> dict:
        description: dict[str, Any] = {
            "generator": self.name,
            "model_id": self.model,
            "model": self.label or Path(self.model.rstrip("/")).name,
            "scheduler": type(self.pipeline.scheduler).__name__ if self.pipeline is not None else self.scheduler_name,
            "dtype": self.dtype_name,
            "device": str(self.device or ""),
        }
        # The memory options, when not the defaults (they change speed and memory, not pixels).
        if self.options["offload"] != "none":
            description["offload"] = self.options["offload"]
        if self.options["vae_tiling"]:
            description["vae_tiling"] = True
        if self.options["vae_slicing"]:
            description["vae_slicing"] = True
        if self.active_loras:
            description["loras"] = list(self.active_loras)
        if self.sampler:
            description["sampler"] = self.sampler
        return description

    def safety_flags(self, pictures) -> list[bool | None]:
        """The model's own safety checker on each picture (None: the model ships none)."""
        return safety_checker.picture_flags(self.checker, pictures)

    def _pick_device(self, torch) -> str:
        if self.requested_device != "auto":
            return self.requested_device
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"

    def load(self) -> None:
        """Load the pipeline once. Any failure names the setting to change."""
        if self.pipeline is not None:
            return
        with self._lock:
            if self.pipeline is not None:
                return
            started = time.perf_counter()
            torch, diffusers = import_torch()
            device = self._pick_device(torch)
            dtype = self._pick_dtype(torch, diffusers, device)
            if device.startswith("cuda"):
                apply_memory_budget(torch, device, self.options["memory_gb"])
            try:
                pipeline = checkpoints.load_text_to_image(diffusers, self.model, dtype=dtype, offline=self.offline)
            except ModelUnavailable:  # a single file that cannot load says why itself
                raise
            except Exception as exc:  # OSError, ValueError, EnvironmentError, HF hub errors…
                # A library model's file is the library's (manage.py scan_models says what it is), not a setting's.
                hint = "Check its file in the models folder (manage.py scan_models)." if self.label else SETTING_HINT
                raise ModelUnavailable(f"Cannot load the diffusion model {self.model!r} ({type(exc).__name__}: {exc}). {hint}") from exc
            # The model's own checker runs beside the pipeline (safety_flags), recorded and never
            # blacking a picture out: inside the pipeline it would replace false positives by black.
            checker = safety_checker.load_checker(self.model, pipeline=pipeline, device=device, dtype=dtype)
            if getattr(pipeline, "safety_checker", None) is not None:
                pipeline.safety_checker = None
            if SCHEDULERS[self.scheduler_choice] and _flow_matching(pipeline.scheduler):
                log.warning("%s keeps its flow-matching scheduler (GARDEN_DIFFUSION_SCHEDULER is for UNet models)", self.model)
            elif SCHEDULERS[self.scheduler_choice]:
                pipeline.scheduler = _scheduler(diffusers, self.scheduler_choice, pipeline.scheduler.config)
            self._place(pipeline, device)
            if device.startswith("cuda"):
                self._tune_cuda(torch, pipeline)
            vae = getattr(pipeline, "vae", None)
            if self.options["vae_tiling"] or self.options["vae_slicing"]:
                if vae is None or not hasattr(vae, "enable_tiling"):
                    raise ModelUnavailable(
                        f"The model {self.model!r} has no VAE that decodes by tiles or slices: "
                        "set GARDEN_DIFFUSION_VAE_TILING and GARDEN_DIFFUSION_VAE_SLICING to false for its worker."
                    )
                if self.options["vae_tiling"]:
                    vae.enable_tiling()
                if self.options["vae_slicing"]:
                    vae.enable_slicing()
            if self.compile_unet and getattr(pipeline, "unet", None) is not None:
                # Compiles on the first call for each image size (minutes); pays off for long bulk runs.
                pipeline.unet = torch.compile(pipeline.unet, mode="max-autotune-no-cudagraphs")
            pipeline.set_progress_bar_config(disable=True)
            self._schedulers = {"": pipeline.scheduler}
            self.pipeline, self.device, self.dtype_name = pipeline, device, str(dtype).removeprefix("torch.")
            self.checker = checker
            self.load_seconds = time.perf_counter() - started
            log.info("loaded %s on %s (%s, %s) in %.1fs", self.model, device, self.dtype_name, self.scheduler_name, self.load_seconds)

    def unload(self) -> None:
        """Drop the pipeline (the LRU evicted this model); its memory is freed once no job holds it."""
        with self._lock:
            if self.pipeline is None:
                return
            device = str(self.device or "")
            self.pipeline, self._img2img, self._schedulers, self.checker = None, None, {}, None
            gc.collect()
            if device.startswith("cuda"):
                torch, _ = import_torch()
                torch.cuda.empty_cache()
            log.info("unloaded %s (GARDEN_DIFFUSION_MAX_LOADED)", self.model)

    def _pick_dtype(self, torch, diffusers, device: str):
        """The dtype choice made concrete: auto is fp32 off CUDA (CPUs want fp32; MPS fp16 is not
        reliable enough), bf16 for transformer families on CUDA (Flux gives NaNs in fp16) and fp16
        for UNet models on CUDA (half the memory, about twice the speed of fp32)."""
        choice = self.options["dtype"]
        transformer = False
        if choice == "auto" or device.startswith("cuda"):
            transformer = is_transformer_model(diffusers, self.model, offline=self.offline)
        choice = choose_dtype(choice, device, transformer=transformer)
        if choice == "bf16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            raise ModelUnavailable(f"This GPU ({device}) has no bf16 for {self.model}: set {DTYPE_SETTING} to fp16 or fp32.")
        if choice == "fp16" and transformer:
            log.warning("%s is a transformer model in fp16: Flux-class models may paint NaNs (black); bf16 is their dtype.", self.model)
        return getattr(torch, TORCH_DTYPES[choice])

    def _place(self, pipeline, device: str) -> None:
        """The whole pipeline on ``device``, or diffusers' CPU offload onto it (GARDEN_DIFFUSION_OFFLOAD)."""
        offload = self.options["offload"]
        if offload == "none":
            import torch

            try:
                pipeline.to(device)
            except torch.cuda.OutOfMemoryError as exc:
                with contextlib.suppress(Exception):
                    pipeline.to("cpu")  # give back what was moved before the next model or job tries
                self._free_gpu_memory(torch)
                raise ModelUnavailable(
                    f"{self.model} does not fit in {device}'s memory ({exc}). Offload it (GARDEN_DIFFUSION_OFFLOAD=model, "
                    "or the model's offload in the library admin), keep fewer models loaded (GARDEN_DIFFUSION_MAX_LOADED), "
                    "or give this worker more of the card (GARDEN_DIFFUSION_MEMORY_GB)."
                ) from exc
            except Exception as exc:
                raise ModelUnavailable(f"Cannot move the model to device {device!r} ({exc}). Set GARDEN_DIFFUSION_DEVICE.") from exc
            return
        if device.split(":")[0] not in ("cuda", "mps", "xpu"):
            raise ModelUnavailable(
                f"Offload {offload!r} for {self.model} keeps the weights in CPU memory and moves them to a GPU as they run: "
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
                f"Cannot offload {self.model} onto {device!r} ({type(exc).__name__}: {exc}): set {OFFLOAD_SETTING} to none."
            ) from exc

    @staticmethod
    def _tune_cuda(torch, pipeline) -> None:
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

    # --- per batch: sampler and LoRAs ------------------------------------------------------------

    def _use_sampler(self, sampler: str) -> None:
        """The batch's sampler, or the model's own for "" / "default" (never the last batch's)."""
        name = "" if sampler in ("", "default") else sampler
        if name not in self._schedulers:
            if name not in SCHEDULERS:
                raise BackendError(f"Unknown sampler {sampler!r}: expected one of {', '.join(SCHEDULERS)}.")
            if _flow_matching(self._schedulers[""]):
                raise BackendError(
                    f"Sampler {sampler!r} is for UNet models (SD 1.x/2.x, SDXL); {self.label or self.model} is a flow-matching "
                    f"model ({type(self.pipeline).__name__}) that paints with its own scheduler: use the sampler default."
                )
            _, diffusers = import_torch()
            self._schedulers[name] = _scheduler(diffusers, name, self._schedulers[""].config)
        self.pipeline.scheduler = self._schedulers[name]
        if self._img2img is not None:
            self._img2img.scheduler = self._schedulers[name]
        self.sampler = name

    def _image_to_image(self):
        """The loaded model's image-to-image pipeline (shares its modules: no weights loaded twice)."""
        if self._img2img is None:
            _, diffusers = import_torch()
            try:
                self._img2img = diffusers.AutoPipelineForImage2Image.from_pipe(self.pipeline)
            except Exception as exc:  # ValueError: no image-to-image pipeline for this architecture
                raise BackendError(f"The model {self.label or self.model!r} has no image-to-image pipeline: {exc}") from exc
            self._img2img.set_progress_bar_config(disable=True)
        self._img2img.scheduler = self.pipeline.scheduler
        return self._img2img

    def generate(self, batch: Batch, *, on_step: StepCallback | None = None):
        if batch.vae or batch.hires is not None:  # another VAE, two passes: generation.backends.hires
            from generation.backends import hires

            return hires.paint(self, batch, on_step=on_step)
        self.load()
        if len(set(batch.extra.get("prompts") or ())) > 1:  # live requests, each its own prompt
            groups = conditioning.prompt_groups(self.pipeline, batch)
            if len(groups) > 1:
                return self._generate_groups(batch, groups, on_step=on_step)
        torch, _ = import_torch()
        # One CPU generator per image: image n depends only on its own seed, whatever batch it
        # lands in, and the same seed gives the same latents on any GPU model.
        generators = [torch.Generator(device="cpu").manual_seed(int(seed)) for seed in batch.seeds]
        count = len(batch.seeds)

        def step_end(pipe, step_index, timestep, callback_kwargs):
            if on_step is not None:
                # img2img runs only the last denoising_strength of the steps: reported out of all of them.
                ran = getattr(pipe, "num_timesteps", 0) or batch.steps
                on_step(round((step_index + 1) * batch.steps / ran))
            return callback_kwargs

        with self._lock:  # the sampler and adapters are this call's until it returns
            self._use_sampler(batch.sampler)
            pipeline = self.pipeline if batch.init_image is None else self._image_to_image()
            kwargs = {
                "num_inference_steps": batch.steps,
                "guidance_scale": batch.guidance,
                "generator": generators,
                "callback_on_step_end": step_end,
                "output_type": batch.extra.get("output_type", "pil"),  # "latent": a hires fix's first pass
                **conditioning.pipeline_call_kwargs(torch, pipeline, batch, generators),
            }
            if batch.init_image is None:
                kwargs |= {"height": batch.height, "width": batch.width}
            else:  # the size is the picture's (the runner made it the batch's)
                starts = batch.init_image if isinstance(batch.init_image, list) else [batch.init_image] * count  # a list: one each
                kwargs |= {"image": starts, "strength": batch.denoising_strength}
            adapters = loras.adapters_for(self.pipeline, self.label or self.model)
            for attempt in (1, 2):
                try:
                    with adapters.active(pipeline, batch.loras, batch.extra.get("lora_paths", {})) as active, torch.inference_mode():
                        self.active_loras = active
                        result = pipeline(**kwargs)
                    break
                except torch.cuda.OutOfMemoryError as exc:
                    # Once more after emptying the cache (another process or a fragmented cache may
                    # have held the memory); the same call failing again would fail on every retry.
                    self._free_gpu_memory(torch)
                    if attempt == 2:
                        raise BackendError(self.out_of_memory_message(batch, exc)) from exc
                    log.warning("out of GPU memory at %sx%sx%d; emptied the cache, trying once more", batch.width, batch.height, count)
                    for generator, seed in zip(generators, batch.seeds, strict=True):
                        generator.manual_seed(int(seed))  # the same pictures as the first try would have painted
        return list(result.images)

    def _generate_groups(self, batch: Batch, groups: list[list[int]], *, on_step: StepCallback | None):
        """A batch whose prompts encode to different shapes: one call per group (each picture
        conditioned as alone), the pictures back in the batch's order; progress spans the calls."""
        pictures: list = [None] * len(batch.seeds)
        for number, indexes in enumerate(groups):

            def step(done: int, number: int = number) -> None:
                if on_step is not None:
                    on_step((number * batch.steps + done) // len(groups))

            starts = batch.init_image
            part = replace(
                batch,
                prompt=batch.extra["prompts"][indexes[0]],
                seeds=[batch.seeds[i] for i in indexes],
                subseeds=[batch.subseeds[i] for i in indexes] if batch.subseeds else [],
                extra=batch.extra | {"prompts": [batch.extra["prompts"][i] for i in indexes]},
                init_image=[starts[i] for i in indexes] if isinstance(starts, list) else starts,
            )
            for index, picture in zip(indexes, self.generate(part, on_step=step), strict=True):
                pictures[index] = picture
        return pictures

    def _free_gpu_memory(self, torch) -> None:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def out_of_memory_message(self, batch: Batch, exc: BaseException) -> str:
        """What a job that cannot fit says: what it asked for and each setting that would make it fit."""
        count, options = len(batch.seeds), self.options
        memory_gb = options["memory_gb"]
        budget = f"GARDEN_DIFFUSION_MEMORY_GB={memory_gb:g}" if memory_gb else "the whole card (GARDEN_DIFFUSION_MEMORY_GB=0)"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"Out of GPU memory twice painting {count} picture(s) of {batch.width}x{batch.height} with {self.label or self.model} "
            f"({self.dtype_name}, offload {options['offload']}, {budget}): {first_line}. To make it fit: fewer pictures per call "
            "(GARDEN_DIFFUSION_BATCH_SIZE) or a smaller size; GARDEN_DIFFUSION_OFFLOAD=model (or sequential, or the model's "
            "offload in the library admin); GARDEN_DIFFUSION_VAE_TILING=true and GARDEN_DIFFUSION_VAE_SLICING=true; "
            "or more of the card for this worker (GARDEN_DIFFUSION_MEMORY_GB)."
        )


def choose_dtype(choice: str, device: str, *, transformer: bool) -> str:
    """GARDEN_DIFFUSION_DTYPE (or a model's) made concrete: an explicit choice stands; auto is fp32
    off CUDA, bf16 for a transformer model on CUDA, fp16 for a UNet model on CUDA."""
    if choice != "auto":
        return choice
    if not device.startswith("cuda"):
        return "fp32"
    return "bf16" if transformer else "fp16"


def _flow_matching(scheduler) -> bool:
    """Flux's and SD3's schedulers: the samplers here (DDPM-family schedulers) cannot replace them."""
    return type(scheduler).__name__.startswith("FlowMatch")


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


def _scheduler(diffusers, name: str, config):
    scheduler_class = getattr(diffusers, SCHEDULERS[name] or "")
    options = {"use_karras_sigmas": True} if name.endswith("_karras") else {}
    return scheduler_class.from_config(config, **options)
