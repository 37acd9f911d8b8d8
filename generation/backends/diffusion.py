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
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from generation.backends import (
    SAMPLERS,
    BackendError,
    Batch,
    ModelUnavailable,
    StepCallback,
    TransientBackendError,
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


def _import_torch():
    # huggingface_hub reads HF_HUB_OFFLINE at import time; settings set it, and so do we, in case
    # this module is used outside Django's settings (the benchmark, a notebook).
    if os.environ.get("GARDEN_HF_OFFLINE", "true").lower() not in ("0", "false", "no", "off"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import diffusers
    import torch

    return torch, diffusers


class DiffusersBackend:
    name = "diffusers"

    def __init__(self, *, model: str, device: str = "auto", scheduler: str = "default", compile_unet: bool = False, offline: bool = True):
        if scheduler not in SCHEDULERS:
            raise ModelUnavailable(f"Unknown scheduler {scheduler!r}: set GARDEN_DIFFUSION_SCHEDULER to one of {', '.join(SCHEDULERS)}.")
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
            torch, diffusers = _import_torch()
            device = self._pick_device(torch)
            # fp16 halves memory and roughly doubles speed on GPUs; CPUs need fp32.
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            try:
                pipeline = diffusers.AutoPipelineForText2Image.from_pretrained(self.model, dtype=dtype, local_files_only=self.offline)
            except Exception as exc:  # OSError, ValueError, EnvironmentError, HF hub errors…
                raise ModelUnavailable(
                    f"Cannot load the diffusion model {self.model!r} ({type(exc).__name__}: {exc}). {SETTING_HINT}"
                ) from exc
            # The model's own checker runs beside the pipeline (safety_flags), recorded and never
            # blacking a picture out: inside the pipeline it would replace false positives by black.
            checker = safety_checker.load_checker(self.model, pipeline=pipeline, device=device, dtype=dtype)
            if getattr(pipeline, "safety_checker", None) is not None:
                pipeline.safety_checker = None
            if SCHEDULERS[self.scheduler_choice]:
                pipeline.scheduler = _scheduler(diffusers, self.scheduler_choice, pipeline.scheduler.config)
            try:
                pipeline = pipeline.to(device)
            except Exception as exc:
                raise ModelUnavailable(f"Cannot move the model to device {device!r} ({exc}). Set GARDEN_DIFFUSION_DEVICE.") from exc
            if device.startswith("cuda"):
                self._tune_cuda(torch, pipeline)
            if self.compile_unet and hasattr(pipeline, "unet"):
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
                torch, _ = _import_torch()
                torch.cuda.empty_cache()
            log.info("unloaded %s (GARDEN_DIFFUSION_MAX_LOADED)", self.model)

    @staticmethod
    def _tune_cuda(torch, pipeline) -> None:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        # Scaled-dot-product attention (flash/memory-efficient kernels): the diffusers default on
        # torch 2, set explicitly so a model saved with another processor still gets it.
        try:
            from diffusers.models.attention_processor import AttnProcessor2_0

            if hasattr(pipeline, "unet"):
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
            _, diffusers = _import_torch()
            self._schedulers[name] = _scheduler(diffusers, name, self._schedulers[""].config)
        self.pipeline.scheduler = self._schedulers[name]
        if self._img2img is not None:
            self._img2img.scheduler = self._schedulers[name]
        self.sampler = name

    def _image_to_image(self):
        """The loaded model's image-to-image pipeline (shares its modules: no weights loaded twice)."""
        if self._img2img is None:
            _, diffusers = _import_torch()
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
        torch, _ = _import_torch()
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
            try:
                with adapters.active(pipeline, batch.loras, batch.extra.get("lora_paths", {})) as active, torch.inference_mode():
                    self.active_loras = active
                    result = pipeline(**kwargs)
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                raise TransientBackendError(f"GPU out of memory at {batch.width}x{batch.height}x{count}: {exc}") from exc
        return list(result.images)


def _scheduler(diffusers, name: str, config):
    scheduler_class = getattr(diffusers, SCHEDULERS[name] or "")
    options = {"use_karras_sigmas": True} if name.endswith("_karras") else {}
    return scheduler_class.from_config(config, **options)
