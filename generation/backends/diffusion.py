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
``from_pipe`` on the loaded one (the same weights, loaded once), at its
``denoising_strength``.

Memory and precision (docs/models.md#memory-and-precision): the dtype (GARDEN_DIFFUSION_DTYPE, or
the library entry's: auto is fp32 off CUDA, bf16 for transformer families such as Flux and SD3 on
CUDA, fp16 otherwise), offload (GARDEN_DIFFUSION_OFFLOAD or the entry's: diffusers' model or
sequential CPU offload instead of moving the whole pipeline to the GPU), VAE tiling and slicing,
and this process's share of the card (GARDEN_DIFFUSION_MEMORY_GB). A call that runs out of GPU
memory is tried once more after emptying the cache; a second out-of-memory fails the job with the
settings that would make it fit (a retry of the job would only run out again). How a pipeline is
loaded and placed: generation.backends.loading; the lean 1-step call of GPU workers
(``generate_tensors``): generation.backends.lean.
"""

from __future__ import annotations

import gc
import logging
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
    loading,
    loras,
    safety_checker,
)
from generation.backends import lean as lean_call
from generation.backends.loading import (  # re-exported: other modules import them from here
    DTYPE_SETTING,
    OFFLOAD_SETTING,
    SETTING_HINT,
    TORCH_DTYPES,
    apply_memory_budget,
    choose_dtype,
    flow_matching,
    import_torch,
    is_transformer_model,
    make_scheduler,
    memory_fraction,
)

__all__ = [
    "DTYPE_SETTING",
    "OFFLOAD_SETTING",
    "SCHEDULERS",
    "SETTING_HINT",
    "TORCH_DTYPES",
    "DiffusersBackend",
    "apply_memory_budget",
    "choose_dtype",
    "import_torch",
    "is_transformer_model",
    "memory_fraction",
]

log = logging.getLogger(__name__)

# Names accepted by GARDEN_DIFFUSION_SCHEDULER and a batch's sampler → diffusers scheduler classes
# ("default": the scheduler the model was saved with); torch-free, in generation.backends.
SCHEDULERS = SAMPLERS


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
        lean: str = "auto",
    ):
        if scheduler not in SCHEDULERS:
            raise ModelUnavailable(f"Unknown scheduler {scheduler!r}: set GARDEN_DIFFUSION_SCHEDULER to one of {', '.join(SCHEDULERS)}.")
        if dtype not in DTYPES:
            raise ModelUnavailable(f"Unknown dtype {dtype!r} for {model}: set {DTYPE_SETTING} to one of {', '.join(DTYPES)}.")
        if offload not in OFFLOADS:
            raise ModelUnavailable(f"Unknown offload {offload!r} for {model}: set {OFFLOAD_SETTING} to one of {', '.join(OFFLOADS)}.")
        if lean not in lean_call.MODES:
            raise ModelUnavailable(f"Unknown lean mode {lean!r}: set GARDEN_DIFFUSION_LEAN to one of {', '.join(lean_call.MODES)}.")
        # What this pipeline is built with besides its model (LoadedPipelines compares them).
        self.options: dict[str, Any] = {
            "device": device,
            "scheduler": scheduler,
            "compile_unet": compile_unet,
            "offline": offline,
            "dtype": dtype,
            "offload": offload,
            "vae_tiling": vae_tiling,
            "vae_slicing": vae_slicing,
            "memory_gb": memory_gb,
            "lean": lean,
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
        self.pipeline_device = ""  # where the placed pipeline's weights lie, read once at load (offload: "cpu")
        self.dtype_name = ""
        self.load_seconds = 0.0
        self._lock = threading.Lock()
        self._schedulers: dict[str, Any] = {}  # sampler name → scheduler instance, "" = the model's own
        self.active_loras: list[dict] = []  # the LoRAs of the last batch: [{"name", "weight"}]
        self.sampler = ""  # the sampler of the last batch ("" = the model's own)
        self._lean: lean_call.LeanCall | None = None  # the lean 1-step call, built on first use
        self.lean_reason = ""  # why this model has no lean call ("" = not asked yet, or it has one)
        self.live_decoder: Any = None  # the tiny decoder of its lean calls (use_live_decoder)

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

    def load(self) -> None:
        """Load the pipeline once. Any failure names the setting to change."""
        if self.pipeline is not None:
            return
        with self._lock:
            if self.pipeline is not None:
                return
            started = time.perf_counter()
            torch, diffusers = import_torch()
            device = loading.pick_device(torch, self.requested_device)
            dtype = loading.pick_dtype(torch, diffusers, device, choice=self.options["dtype"], model=self.model, offline=self.offline)
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
            if SCHEDULERS[self.scheduler_choice] and flow_matching(pipeline.scheduler):
                log.warning("%s keeps its flow-matching scheduler (GARDEN_DIFFUSION_SCHEDULER is for UNet models)", self.model)
            elif SCHEDULERS[self.scheduler_choice]:
                pipeline.scheduler = make_scheduler(diffusers, self.scheduler_choice, pipeline.scheduler.config)
            loading.place(pipeline, device, offload=self.options["offload"], model=self.model)
            if device.startswith("cuda"):
                loading.tune_cuda(torch, pipeline)
            loading.enable_vae_options(pipeline, tiling=self.options["vae_tiling"], slicing=self.options["vae_slicing"], model=self.model)
            if self.compile_unet and getattr(pipeline, "unet", None) is not None:
                # Compiles on the first call for each image size (minutes); pays off for long bulk runs.
                pipeline.unet = torch.compile(pipeline.unet, mode="max-autotune-no-cudagraphs")
            pipeline.set_progress_bar_config(disable=True)
            self._schedulers = {"": pipeline.scheduler}
            self.pipeline, self.device, self.dtype_name = pipeline, device, str(dtype).removeprefix("torch.")
            self.pipeline_device = str(pipeline.device)  # diffusers walks every module for it: not once per call
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
            self.pipeline_device = ""
            self._lean, self.lean_reason, self.live_decoder = None, "", None
            gc.collect()
            if device.startswith("cuda"):
                torch, _ = import_torch()
                torch.cuda.empty_cache()
            log.info("unloaded %s (GARDEN_DIFFUSION_MAX_LOADED)", self.model)

    # --- per batch: sampler and LoRAs ------------------------------------------------------------

    def _use_sampler(self, sampler: str) -> None:
        """The batch's sampler, or the model's own for "" / "default" (never the last batch's)."""
        name = "" if sampler in ("", "default") else sampler
        if name not in self._schedulers:
            if name not in SCHEDULERS:
                raise BackendError(f"Unknown sampler {sampler!r}: expected one of {', '.join(SCHEDULERS)}.")
            if flow_matching(self._schedulers[""]):
                raise BackendError(
                    f"Sampler {sampler!r} is for UNet models (SD 1.x/2.x, SDXL); {self.label or self.model} is a flow-matching "
                    f"model ({type(self.pipeline).__name__}) that paints with its own scheduler: use the sampler default."
                )
            _, diffusers = import_torch()
            self._schedulers[name] = make_scheduler(diffusers, name, self._schedulers[""].config)
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
            if batch.extra.get("eta"):  # DDIM's step noise (A1111's eta); the pipeline hands it to the scheduler's step
                kwargs["eta"] = batch.extra["eta"]
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

    # --- the lean 1-step call (generation.backends.lean) ----------------------------------------

    def lean_call(self) -> lean_call.LeanCall | None:
        """This model's lean call, built on first use; None (``lean_reason`` says why) where
        GARDEN_DIFFUSION_LEAN leaves this device the ordinary call or the model does not fit it."""
        self.load()
        if self._lean is None and not self.lean_reason:
            self._lean, self.lean_reason = lean_call.build(self)
        return self._lean

    def use_live_decoder(self, path: str) -> None:
        """Decode this model's lean calls with the tiny VAE in ``path`` (generation.backends.tiny_vae)."""
        from generation.backends import tiny_vae

        self.load()
        self.live_decoder = tiny_vae.load(path, like=self.pipeline.vae)
        self._lean, self.lean_reason = None, ""  # built again around it

    def generate_tensors(self, batch: Batch, *, on_step: StepCallback | None = None):
        """The batch's pictures as ``(B, 3, H, W)`` floats in 0…1 on the model's device, by the lean
        call where it can paint the batch, else by the ordinary call (generation.backends.lean)."""
        return lean_call.paint_tensors(self, batch, on_step=on_step)

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
        loading.free_gpu_memory(torch)

    def out_of_memory_message(self, batch: Batch, exc: BaseException) -> str:
        """What a job that cannot fit says: what it asked for and each setting that would make it fit."""
        return loading.out_of_memory_message(batch, exc, options=self.options, dtype_name=self.dtype_name, model=self.label or self.model)
