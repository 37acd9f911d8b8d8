"""The lean 1-step call of GPU workers: noise → UNet → the scheduler's closed-form step → decode,
returning tensors (``DiffusersBackend.generate_tensors``), with CUDA graphs at fixed batch sizes.

What the ordinary pipeline call does for a turbo model at 1 step, without its Python around the
three model calls (docs/generation.md#the-gpu-worker-the-lean-call):

- the noise is the pipeline's (``randn_tensor`` with one CPU generator per picture, in the prompt
  embeddings' dtype) times the scheduler's ``init_noise_sigma``;
- SDXL (SDXL-Turbo) gets what its pipeline gives its UNet besides: both encoders' embeddings, the
  pooled embedding and the added time ids (``LeanCall``'s docstring);
- the UNet sees it scaled by the scheduler's ``scale_model_input`` at the single timestep;
- the step is linear in the sample and the UNet's output at 1 step for the schedulers turbo models
  ship with: ``x0 = a·x + b·ε``. ``a`` and ``b`` are read from the scheduler's own ``step`` on
  probes at load time (Euler, SD-Turbo's: a = 1, b = −σ_max; Euler ancestral: the same, its noise
  term is 0 at the last step; DDIM, LCM: their own constants), and a scheduler whose step is not
  linear (clipping, thresholding) keeps the ordinary call;
- the VAE (or a tiny decoder, generation.backends.tiny_vae) decodes ``x0 / scaling_factor``, and
  the pictures come back as ``(B, 3, H, W)`` floats in 0…1 on the device, as the pipeline's
  ``output_type="pt"`` gives them.

Prompt embeddings are cached per prompt (a bounded LRU per loaded model). On CUDA the three calls
are one ``torch.compile(mode="reduce-overhead", fullgraph=True)`` function: CUDA graphs recorded
per batch size (1, 2, 4, 8; a batch is padded to the next size, a larger one painted by eights)
when the worker warms it (``warm``), never in front of a visitor. Graphs are replayed only from
the thread that recorded them (pytorch#123177); any other thread, or a size not warmed, runs the
same function uncompiled. A replay overwrites its outputs, so they are cloned before the next one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from generation.backends import Batch, conditioning
from generation.backends.loading import import_torch

log = logging.getLogger(__name__)

SIZES = (1, 2, 4, 8)  # batch sizes with a graph each; a batch is padded to the next one
PROMPT_CACHE = 256  # prompt embeddings kept per loaded model (least recently used dropped)
MODES = ("auto", "graphs", "eager", "off")  # GARDEN_DIFFUSION_LEAN


def wanted(mode: str, device: str) -> tuple[bool, bool]:
    """(lean call, CUDA graphs) for GARDEN_DIFFUSION_LEAN on ``device``: auto is both on CUDA and
    neither elsewhere (CPU workers keep the ordinary call); eager forces the lean call without graphs."""
    cuda = device.startswith("cuda")
    if mode == "off" or (mode == "auto" and not cuda):
        return False, False
    return True, cuda and mode in ("auto", "graphs")


def model_refusal(pipeline) -> str:
    """Why the lean call cannot paint with this model at all ("" when it can)."""
    unet = getattr(pipeline, "unet", None)
    sdxl = unet is not None and conditioning.is_sdxl(pipeline)
    if unet is None or not (sdxl or conditioning.is_single_encoder(pipeline)):
        return "not a UNet model with one text encoder (SD 1.x/2.x, SD-Turbo) or SDXL's two (SDXL-Turbo)"
    if unet.config.get("time_cond_proj_dim") is not None:
        return "an LCM-distilled UNet (guidance embedding)"
    if unet.config.get("addition_embed_type") != ("text_time" if sdxl else None):
        return "a UNet with added conditioning other than SDXL's"
    return ""


def refusal(pipeline, batch: Batch, *, offload: str = "none") -> str:
    """Why the lean call cannot paint ``batch`` exactly as the pipeline would ("" when it can)."""
    if reason := model_refusal(pipeline):
        return reason
    checks = (
        (batch.steps != 1, f"{batch.steps} steps (the lean call paints 1)"),
        (batch.guidance > 1, "classifier-free guidance (guidance > 1)"),
        (batch.init_image is not None, "an image-to-image batch"),
        (bool(batch.vae) or batch.hires is not None, "a library VAE or a hires fix"),
        (bool(batch.loras), "LoRAs"),
        (batch.sampler not in ("", "default"), f"the sampler {batch.sampler!r}"),
        (batch.subseed_strength > 0, "a variation seed"),
        (batch.clip_skip > 1, "CLIP skip"),
        (bool(batch.extra.get("embeddings")), "textual-inversion embeddings"),
        (offload != "none", f"offload {offload!r}"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    if conditioning._needs_embeds(pipeline, batch):
        return "weighted or long prompts"
    return ""


def one_step(torch, scheduler) -> dict | None:
    """The scheduler's single step as constants: its timestep, ``init_noise_sigma``, the model
    input's scale and ``x0 = a·x + b·ε``; None when that step is not linear in x and ε."""
    if scheduler.config.get("clip_sample") or scheduler.config.get("thresholding"):
        return None

    def fresh():
        copy = type(scheduler).from_config(scheduler.config)
        copy.set_timesteps(1, device="cpu")
        return copy

    probe = fresh()
    timestep = probe.timesteps[0]
    ones = torch.ones(1, 1, 1, 1)
    scale = float(probe.scale_model_input(ones, timestep).flatten()[0]) if hasattr(probe, "scale_model_input") else 1.0

    def step(sample: float, output: float) -> float:
        scheduler = fresh()
        if hasattr(scheduler, "scale_model_input"):
            scheduler.scale_model_input(ones * sample, timestep)  # as the pipeline does first (Euler warns otherwise)
        result = scheduler.step(ones * output, timestep, ones * sample, return_dict=False)[0]
        return float(result.flatten()[0])

    a, b = step(1.0, 0.0), step(0.0, 1.0)
    for sample, output in ((2.0, 3.0), (-1.5, 0.5), (7.0, -4.0)):
        if abs(step(sample, output) - (a * sample + b * output)) > 1e-4 * (1 + abs(sample) + abs(output)):
            return None
    return {"timestep": timestep, "init_sigma": float(probe.init_noise_sigma), "scale": scale, "a": a, "b": b}


class LeanCall:
    """The lean call on one loaded pipeline (and optionally a tiny decoder); see the module's docstring.

    SDXL (SDXL-Turbo) is conditioned as its pipeline conditions it: both encoders' embeddings, the
    second's pooled embedding and the added time ids ``(height, width, 0, 0, height, width)`` (the
    original size, no crop, the target size); its latents' mean and deviation when its VAE states
    them, its VAE upcast to float32 where the pipeline upcasts it, and the pipeline's own invisible
    watermark where it has one (applied after the graph: it is numpy code)."""

    def __init__(self, pipeline, step: dict, *, graphs: bool, decoder=None):
        torch, _ = import_torch()
        self.torch, self.pipeline, self.unet = torch, pipeline, pipeline.unet
        self.decoder = decoder if decoder is not None else pipeline.vae
        self.device = self.unet.device
        self.dtype = self.unet.dtype
        self.sdxl = conditioning.is_sdxl(pipeline)
        vae_config = self.decoder.config
        upcast = decoder is None and self.decoder.dtype == torch.float16 and vae_config.get("force_upcast", False)
        self.decode_dtype = torch.float32 if upcast else self.decoder.dtype
        mean, std = vae_config.get("latents_mean"), vae_config.get("latents_std")
        self.latents_shift = None
        if decoder is None and mean is not None and std is not None:
            shape = (1, len(mean), 1, 1)
            self.latents_shift = (torch.tensor(mean).view(shape).to(self.device), torch.tensor(std).view(shape).to(self.device))
        self.step = step
        self.timestep = step["timestep"].to(self.device)
        self.graphs = graphs
        self._compiled = None
        self._thread: int | None = None  # the thread that recorded the graphs (the only one to replay them)
        self._warmed: set[tuple[int, int, int]] = set()  # (batch size, height, width) with a graph
        self._embeds: OrderedDict[str, tuple] = OrderedDict()  # prompt → (embeddings, pooled embedding or None)
        self.warm_seconds = 0.0
        self.compiled = True  # False: the graphs' code came from the compile cache (warm)

    def _core(self, noise, embeds, pooled=None, time_ids=None):
        """noise → UNet → x0 → decode → 0…1: the function compiled into a graph."""
        step = self.step
        sample = noise * step["init_sigma"]
        added = {"text_embeds": pooled, "time_ids": time_ids} if pooled is not None else None
        epsilon = self.unet(
            sample * step["scale"], self.timestep, encoder_hidden_states=embeds, added_cond_kwargs=added, return_dict=False
        )[0]
        # The schedulers' steps run in float32 (diffusers upcasts the sample), then back to the model's dtype.
        latents = (step["a"] * sample.float() + step["b"] * epsilon.float()).to(epsilon.dtype)
        latents = latents.to(self.decode_dtype)
        if self.latents_shift is not None:
            mean, std = self.latents_shift
            latents = latents * std.to(latents.dtype) / self.decoder.config.scaling_factor + mean.to(latents.dtype)
        else:
            latents = latents / self.decoder.config.scaling_factor
        decoded = self.decoder.decode(latents, return_dict=False)[0]
        return (decoded.float() / 2 + 0.5).clamp(0, 1)

    def embeddings(self, prompts: list[str]) -> tuple:
        """Each prompt's embedding (the pipeline's ``encode_prompt``), cached per prompt, stacked;
        with SDXL also the pooled embeddings (else None)."""
        rows, pooled = [], []
        for prompt in prompts:
            row = self._embeds.get(prompt)
            if row is None:
                encoded = self.pipeline.encode_prompt(
                    prompt, device=self.device, num_images_per_prompt=1, do_classifier_free_guidance=False
                )
                row = (encoded[0], encoded[2] if self.sdxl else None)
                self._embeds[prompt] = row
                while len(self._embeds) > PROMPT_CACHE:
                    self._embeds.popitem(last=False)
            else:
                self._embeds.move_to_end(prompt)
            rows.append(row[0])
            pooled.append(row[1])
        return self.torch.cat(rows), (self.torch.cat(pooled) if self.sdxl else None)

    def time_ids(self, count: int, height: int, width: int, dtype):
        """SDXL's added time ids, as its pipeline makes them by default: original size, crop (0, 0), target size."""
        return self.torch.tensor([[height, width, 0, 0, height, width]], dtype=dtype, device=self.device).repeat(count, 1)

    def noise(self, seeds: list[int], height: int, width: int, dtype=None):
        """The pipeline's starting noise: one CPU generator per seed, drawn in the embeddings' dtype."""
        from diffusers.utils.torch_utils import randn_tensor

        torch = self.torch
        generators = [torch.Generator(device="cpu").manual_seed(int(seed)) for seed in seeds]
        channels, factor = self.unet.config.in_channels, self.pipeline.vae_scale_factor
        shape = (len(seeds), channels, height // factor, width // factor)
        return randn_tensor(shape, generator=generators, device=self.device, dtype=dtype or self.dtype)

    def paint(self, batch: Batch):
        """The batch's pictures, ``(B, 3, H, W)`` floats in 0…1 on the device (never a graph's own output)."""
        torch = self.torch
        with torch.inference_mode():
            embeds, pooled = self.embeddings(conditioning.batch_prompts(batch))
            noise = self.noise(batch.seeds, batch.height, batch.width, embeds.dtype)
            time_ids = self.time_ids(len(noise), batch.height, batch.width, embeds.dtype) if self.sdxl else None
            parts = []
            for start in range(0, len(noise), SIZES[-1]):
                rows = slice(start, start + SIZES[-1])
                extra = (pooled[rows], time_ids[rows]) if self.sdxl else ()
                parts.append(self._run(noise[rows], embeds[rows], *extra))
            pictures = parts[0] if len(parts) == 1 else torch.cat(parts)
            return self._pipeline_watermark(pictures)

    def _pipeline_watermark(self, pictures):
        """The SDXL pipeline's own invisible watermark, where it has one (as its call applies it)."""
        watermark = getattr(self.pipeline, "watermark", None)
        if watermark is None:
            return pictures
        marked = watermark.apply_watermark(pictures * 2 - 1)
        return (marked.to(pictures.device).float() / 2 + 0.5).clamp(0, 1)

    def _run(self, noise, embeds, *extra):
        count = len(noise)
        size = next(size for size in SIZES if size >= count)
        key = (size, noise.shape[-2], noise.shape[-1])
        if self._compiled is None or key not in self._warmed or threading.get_ident() != self._thread:
            return self._core(noise, embeds, *extra)
        if size > count:  # padded rows: every row is computed on its own, so they change no other
            noise, embeds, *extra = (
                self.torch.cat([rows, rows[-1:].expand(size - count, *rows.shape[1:])]) for rows in (noise, embeds, *extra)
            )
        self.torch.compiler.cudagraph_mark_step_begin()
        return self._compiled(noise, embeds, *extra)[:count].clone()

    def warm(self, *, width: int, height: int, sizes: tuple[int, ...] = SIZES, cache: Path | None = None) -> float:
        """Compile and record the graphs for ``sizes`` at ``width`` x ``height`` from this thread
        (the worker's launching thread), then replay each once; seconds taken. With ``cache``, the
        compiled code saved by an earlier start is loaded first (``compiled`` says whether this
        start compiled or reused it), and saved after a compile. Without graphs, one eager call per
        size (cuDNN's choices, the prompt cache's first entry)."""
        torch = self.torch
        started = time.perf_counter()
        if self.graphs and self._compiled is None:
            if cache is not None and cache.exists():
                torch.compiler.load_cache_artifacts(cache.read_bytes())
                self.compiled = False
            self._compiled = torch.compile(self._core, mode="reduce-overhead", fullgraph=True, dynamic=False)
            self._thread = threading.get_ident()
        with torch.inference_mode():
            embeds, pooled = self.embeddings([""])
            for size in sizes:
                noise = self.noise(list(range(size)), height, width, embeds.dtype)
                rows = embeds.expand(size, *embeds.shape[1:]).contiguous()
                extra = (
                    (pooled.expand(size, *pooled.shape[1:]).contiguous(), self.time_ids(size, height, width, embeds.dtype))
                    if self.sdxl
                    else ()
                )
                if self._compiled is None:
                    self._core(noise, rows, *extra)
                    continue
                for _ in range(3):  # cudagraph trees: warm-up run, recording, then a replay
                    torch.compiler.cudagraph_mark_step_begin()
                    self._compiled(noise, rows, *extra).clone()
                self._warmed.add((size, noise.shape[-2], noise.shape[-1]))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if self._compiled is not None and self.compiled and cache is not None:
            saved = torch.compiler.save_cache_artifacts()
            if saved is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_bytes(saved[0])
        self.warm_seconds += time.perf_counter() - started
        log.info(
            "lean call %s at %dx%d, batch sizes %s (graphs %s) in %.1fs",
            ("compiled" if self.compiled else "reused from the compile cache") if self._compiled is not None else "warmed",
            width,
            height,
            sizes,
            self._compiled is not None,
            self.warm_seconds,
        )
        return self.warm_seconds


def warm_live_model(*, model: str = "", width: int = 512, height: int = 512, sizes: tuple[int, ...] = SIZES, graphs: bool = True) -> dict:
    """Load the live model (library name ``model``; "" = the default) pinned, attach its tiny decoder
    (the library entry's ``live_vae``) and, with ``graphs``, warm its lean call at ``width`` x
    ``height``. Called once at the live worker's start, from the thread that will launch its calls;
    what it did, for the log."""
    from django.conf import settings

    from generation import backends
    from library import cache as library_cache
    from library import selectors as library

    path, label, dtype, offload, decoder = "", model, "", "", ""
    entry = library.resolve_model(model) if model else (library.default_pipeline() if library.enabled() else None)
    if entry is not None:
        path, label, dtype, offload = str(library_cache.local_path(entry)), entry.name, entry.dtype, entry.offload
        if getattr(entry, "live_vae", ""):
            decoder = str(library_cache.local_path(library.resolve_vae(entry.live_vae)))
    if settings.GARDEN_GENERATOR_BACKEND != backends.DIFFUSERS and entry is None:
        return {"lean": False, "reason": "the procedural painter"}
    model_path = path or settings.GARDEN_DIFFUSION_MODEL
    backend = backends.loaded_pipelines.get(model_path, label=label, pin=True, dtype=dtype, offload=offload)
    backend.load()
    if decoder:
        backend.use_live_decoder(decoder)
    lean = backend.lean_call() if graphs else None
    if lean is None:
        return {"lean": False, "reason": backend.lean_reason or "GARDEN_LIVE_WARM is off", "model": label or backend.model}
    seconds = lean.warm(width=width, height=height, sizes=sizes, cache=compile_cache(model_path, width, height, sizes))
    return {
        "lean": True,
        "graphs": lean.graphs,
        "model": label or backend.model,
        "seconds": round(seconds, 1),
        "compiled": lean.compiled,
        "decoder": decoder,
    }


def compile_cache(model: str, width: int, height: int, sizes: tuple[int, ...]) -> Path:
    """Where the compiled graphs of this model's lean call are kept between starts (under the var
    folder): torch's portable cache artifacts (``torch.compiler.save_cache_artifacts``), one file
    per model, size and batch sizes; inductor's own cache goes beside it (TORCHINDUCTOR_CACHE_DIR)."""
    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "torch-compile"
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder / "inductor"))
    name = hashlib.sha256(f"{model}|{width}x{height}|{sizes}".encode()).hexdigest()[:16]
    return folder / f"lean-{name}.bin"


def build(backend) -> tuple[LeanCall | None, str]:
    """The lean call of a loaded DiffusersBackend, or None and why not (GARDEN_DIFFUSION_LEAN, the model)."""
    torch, _ = import_torch()
    mode, device = backend.options["lean"], str(backend.device)
    use, graphs = wanted(mode, device)
    if not use:
        return None, f"GARDEN_DIFFUSION_LEAN={mode} on {device}"
    scheduler = backend._schedulers[""]
    if reason := model_refusal(backend.pipeline):
        return None, reason
    step = one_step(torch, scheduler)
    if step is None:
        return None, f"{type(scheduler).__name__}'s step is not linear at 1 step"
    return LeanCall(backend.pipeline, step, graphs=graphs, decoder=backend.live_decoder), ""


def paint_tensors(backend, batch: Batch, *, on_step=None):
    """DiffusersBackend.generate_tensors: the lean call when it can paint the batch, else the
    ordinary call; ``(B, 3, H, W)`` floats in 0…1 on the model's device either way."""
    from dataclasses import replace

    torch, _ = import_torch()
    call = backend.lean_call()
    reason = refusal(backend.pipeline, batch, offload=backend.options["offload"]) if call is not None else backend.lean_reason
    if not reason:
        with backend._lock:
            backend._use_sampler("")  # the lean constants are the model's own scheduler's
            pictures = call.paint(batch)
        if on_step is not None:
            on_step(batch.steps)
        return pictures
    if batch.vae or batch.hires is not None:  # generation.backends.hires paints PIL pictures
        import numpy as np

        pictures = backend.generate(batch, on_step=on_step)
        rows = [torch.from_numpy(np.asarray(picture.convert("RGB"))).permute(2, 0, 1) for picture in pictures]
        return torch.stack(rows).to(backend.device).float().div(255)
    return torch.stack(list(backend.generate(replace(batch, extra=batch.extra | {"output_type": "pt"}), on_step=on_step))).float()
