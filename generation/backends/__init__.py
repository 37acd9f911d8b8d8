"""Generator backends behind one interface.

A backend turns one *batch* (images of the same size and prompt, one seed each) into PIL images.
Backends are created once per process and cached here: a diffusers pipeline is loaded inside the
worker process that uses it, on first use, never in a parent that forks later.
Nothing here imports torch or diffusers; only ``generation.backends.diffusion`` does, lazily.

Diffusers pipelines are kept per model path in a small LRU (GARDEN_DIFFUSION_MAX_LOADED per
process, docs/models.md): a job naming another model of the library loads it on demand, and the
least recently used one is dropped before it loads. The live model (a live job's: ``pin``) is never
dropped for another: a curator's bulk job on the same worker evicts only the unpinned ones.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from PIL import Image as PILImage

from config import caches
from config.lazy import Lazy

if TYPE_CHECKING:
    from generation.backends.diffusion import DiffusersBackend

PROCEDURAL = "procedural"
DIFFUSERS = "diffusers"
BACKENDS = (DIFFUSERS, PROCEDURAL)

# Sampler names (GARDEN_DIFFUSION_SCHEDULER, a job's ``sampler``) → diffusers scheduler classes;
# "default": the scheduler the model was saved with. Here, torch-free, so that the web tier can
# validate names; generation.backends.diffusion uses the same map (as SCHEDULERS).
SAMPLERS = {
    "default": None,
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "dpm++_karras": "DPMSolverMultistepScheduler",
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler",
    "unipc": "UniPCMultistepScheduler",
    "heun": "HeunDiscreteScheduler",
    "lcm": "LCMScheduler",
    # A1111's k-diffusion samplers that diffusers has (A1111 modules/sd_samplers_kdiffusion.py);
    # a suffix picks the sigma schedule: sampler_options below.
    "euler_karras": "EulerDiscreteScheduler",
    "euler_exponential": "EulerDiscreteScheduler",
    "lms_karras": "LMSDiscreteScheduler",
    "lms_exponential": "LMSDiscreteScheduler",
    "heun_karras": "HeunDiscreteScheduler",
    "heun_exponential": "HeunDiscreteScheduler",
    "dpm++_exponential": "DPMSolverMultistepScheduler",
    "dpm2": "KDPM2DiscreteScheduler",
    "dpm2_karras": "KDPM2DiscreteScheduler",
    "dpm2_exponential": "KDPM2DiscreteScheduler",
    "dpm2_a": "KDPM2AncestralDiscreteScheduler",
    "dpm2_a_karras": "KDPM2AncestralDiscreteScheduler",
    "dpm2_a_exponential": "KDPM2AncestralDiscreteScheduler",
    "dpm++_2m_sde": "DPMSolverMultistepScheduler",
    "dpm++_2m_sde_karras": "DPMSolverMultistepScheduler",
    "dpm++_2m_sde_exponential": "DPMSolverMultistepScheduler",
}
# Samplers whose scheduler takes ``eta`` in its step (the pipeline passes it): DDIM's noise amount.
ETA_SAMPLERS = ("ddim",)


def sampler_options(name: str) -> dict:
    """The scheduler's ``from_config`` options for sampler ``name``: its sigma schedule (Karras,
    exponential) and, for DPM++ 2M SDE, the stochastic DPM-Solver++ algorithm."""
    options: dict = {}
    if name.endswith("_karras"):
        options["use_karras_sigmas"] = True
    elif name.endswith("_exponential"):
        options["use_exponential_sigmas"] = True
    if name.startswith("dpm++_2m_sde"):
        options["algorithm_type"] = "sde-dpmsolver++"
    return options


class BackendError(RuntimeError):
    """Generation failed for good (bad configuration, bad input): retrying will not help."""


class ModelUnavailable(BackendError):
    """The configured model cannot be loaded; the message names the setting to change."""


class TransientBackendError(RuntimeError):
    """A failure that a later attempt may not hit (out of GPU memory, a busy device)."""


@dataclass(frozen=True)
class Batch:
    """Images of one size from one prompt: one pipeline call. ``seeds`` has one seed per image."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seeds: list[int]
    emotion: str = ""
    favorite: str = ""
    extra: dict = field(default_factory=dict)
    # The library pipeline by name ("" = the default model) and its LoRAs: ((name, weight), …).
    model: str = ""
    loras: tuple[tuple[str, float], ...] = ()
    # Our sampler name (diffusion.SCHEDULERS; "" = the backend's own), CLIP skip (A1111's
    # CLIP_stop_at_last_layers: 1 = the last layer), and A1111's variation seed: each image's noise is
    # slerp(subseed_strength, noise(seed), noise(subseed + n)).
    sampler: str = ""
    clip_skip: int = 1
    subseeds: list[int] = field(default_factory=list)
    subseed_strength: float = 0.0
    # img2img: the picture every image of the batch starts from (already width x height), or one start
    # per image (a list: the hires fix's second pass, pictures or latents), and how much of it is
    # repainted (A1111's denoising_strength: 1 keeps nothing of it). None: text only.
    init_image: PILImage.Image | list | None = None
    denoising_strength: float = 0.0
    # A VAE of the library ("" = the model's own; its file in extra["vae_path"]) and the hires fix
    # (generation.backends.hires: paint smaller, upscale, repaint at width x height). Either makes
    # DiffusersBackend.generate hand the batch to generation.backends.hires.paint.
    vae: str = ""
    hires: HiresFix | None = None


@dataclass(frozen=True)
class HiresFix:
    """A batch's two passes (generation.backends.hires): the first at ``first_width`` x ``first_height``,
    then ``upscaler`` (a latent interpolation, a resampler, or a library upscaler whose file is in
    extra["upscaler_path"]) and image-to-image at the batch's size, ``steps`` steps at ``denoising``."""

    first_width: int
    first_height: int
    upscaler: str
    steps: int
    denoising: float


# Called after every denoising step with the number of steps done in this call; it may raise
# (cancellation) to stop the call at once.
StepCallback = Callable[[int], None]


class Backend(Protocol):
    name: str

    @property
    def model_id(self) -> str: ...

    @property
    def scheduler_name(self) -> str: ...

    def load(self) -> None:
        """Make the backend ready (load weights). Idempotent; generate() calls it too."""

    def generate(self, batch: Batch, *, on_step: StepCallback | None = None) -> list[PILImage.Image]: ...

    def safety_flags(self, pictures: list[PILImage.Image]) -> list[bool | None]:
        """Per picture of the last batch: the model's own safety checker's answer (None: none ran)."""

    def describe(self) -> dict:
        """Parameters of the backend worth embedding in each image (model, scheduler, dtype…)."""


def _build_procedural() -> Backend:
    from generation.backends.procedural import ProceduralBackend

    return ProceduralBackend()


# GARDEN_DIFFUSION_DTYPE / a library entry's dtype, GARDEN_DIFFUSION_OFFLOAD / its offload (docs/models.md).
DTYPES = ("auto", "fp16", "bf16", "fp32")
OFFLOADS = ("none", "model", "sequential")


def denoiser(pipeline):
    """The pipeline's denoising network: ``unet`` (SD 1.x/2.x, SDXL) or ``transformer`` (Flux, SD3,
    PixArt, Sana); None for a pipeline with neither."""
    unet = getattr(pipeline, "unet", None)
    return unet if unet is not None else getattr(pipeline, "transformer", None)


def _diffusers_settings() -> dict:
    """What every loaded pipeline was built with, besides its model and its own overrides (a change
    drops them all): DiffusersBackend's keyword arguments."""
    from django.conf import settings

    return {
        "device": settings.GARDEN_DIFFUSION_DEVICE,
        "scheduler": settings.GARDEN_DIFFUSION_SCHEDULER,
        "compile_unet": settings.GARDEN_DIFFUSION_COMPILE,
        "offline": settings.GARDEN_HF_OFFLINE,
        "dtype": settings.GARDEN_DIFFUSION_DTYPE,
        "offload": settings.GARDEN_DIFFUSION_OFFLOAD,
        "vae_tiling": settings.GARDEN_DIFFUSION_VAE_TILING,
        "vae_slicing": settings.GARDEN_DIFFUSION_VAE_SLICING,
        "memory_gb": settings.GARDEN_DIFFUSION_MEMORY_GB,
        "lean": settings.GARDEN_DIFFUSION_LEAN,
    }


class LoadedPipelines:
    """The diffusers backends of this process by model path, least recently used first.

    At most GARDEN_DIFFUSION_MAX_LOADED are kept: asking for another model drops the least
    recently used one before the new one loads (its weights are freed once no job holds it).
    One model may be *pinned* (the live model): it is never the one dropped, so a live picture
    never waits for a reload; the others share the rest of the limit, and one other always fits
    beside it (with a limit of 1, a bulk job's model loads next to the live one instead of
    replacing it). Pinning another model unpins the previous one (one live model at a time).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: OrderedDict[str, DiffusersBackend] = OrderedDict()
        self._built_for: dict | None = None
        self.pinned = ""

    def get(self, model: str, *, label: str = "", pin: bool = False, dtype: str = "", offload: str = "") -> DiffusersBackend:
        """The backend of ``model``; ``dtype``/``offload``: the library entry's overrides ("" = the worker's).
        A model held with other overrides is dropped and loaded again with these."""
        from django.conf import settings

        from generation.backends.diffusion import DiffusersBackend

        wanted = _diffusers_settings()
        options = wanted | {"dtype": dtype or wanted["dtype"], "offload": offload or wanted["offload"]}
        with self._lock:
            if wanted != self._built_for:
                self._drop(list(self._backends))
                self._built_for = wanted
            # A library model whose file or folder is gone from disk is not kept painting from memory.
            self._drop([held for held in self._backends if os.path.isabs(held) and not os.path.exists(held)])
            if pin:  # before making room: the previous live model is an ordinary one from now on
                self.pinned = model
            backend = self._backends.get(model)
            if backend is not None and backend.options != options:
                self._drop([model])  # its dtype or offload changed (the admin's per-model override)
                backend = None
            if backend is None:
                backend = DiffusersBackend(model=model, **options)
                limit = max(1, settings.GARDEN_DIFFUSION_MAX_LOADED)
                evictable = [held for held in self._backends if held != self.pinned]
                room = limit - (1 if self.pinned and self.pinned in self._backends and model != self.pinned else 0)
                self._drop(evictable[: max(0, len(evictable) - max(1, room) + 1)])
                self._backends[model] = backend
            self._backends.move_to_end(model)
            if label:
                backend.label = label
            return backend

    @property
    def models(self) -> list[str]:
        """The model paths held, least recently used first."""
        return list(self._backends)

    def loaded(self) -> list[str]:
        """The model paths whose weights are in memory, least recently used first."""
        return [model for model, backend in self._backends.items() if backend.pipeline is not None]

    def loaded_names(self) -> list[str]:
        """Every name a model in memory is known by (its library name, path, model id): what the
        worker's presence advertises (generation.dispatch.pull; the status page), its LoRAs as
        ``loras.lora_key``."""
        from generation.backends import loras

        with self._lock:
            held = [(model, backend) for model, backend in self._backends.items() if backend.pipeline is not None]
        names = set()
        for model, backend in held:
            known = {name for name in (model, backend.label, backend.model_id) if name}
            # The LoRAs loaded on it, per name it is known by.
            with_loras = {loras.lora_key(name, lora) for name in known for lora in loras.loaded_loras(backend.pipeline)}
            names |= known | with_loras
        return sorted(names)

    def reset(self) -> None:
        with self._lock:
            self._drop(list(self._backends))
            self._built_for = None
            self.pinned = ""

    def _drop(self, models: list[str]) -> None:
        for model in models:
            self._backends.pop(model).unload()


# One procedural painter per process; diffusers pipelines by model (LoadedPipelines).
_procedural: Lazy[Backend] = Lazy(_build_procedural, owner=__name__, name="_procedural", fresh="none: it reads no setting")
loaded_pipelines = LoadedPipelines()
caches.register(
    loaded_pipelines.reset,
    owner=__name__,
    name="loaded_pipelines",
    key="model path (at most GARDEN_DIFFUSION_MAX_LOADED, least recently used dropped)",
    fresh="the GARDEN_DIFFUSION_* settings (_diffusers_settings) and the library entry's dtype/offload",
)


def get_backend(name: str, *, model: str = "", label: str = "", pin: bool = False, dtype: str = "", offload: str = "") -> Backend:
    """The process-wide backend instance for ``name`` under the current settings.

    Diffusers: the pipeline of ``model`` (a folder or hub id; empty: GARDEN_DIFFUSION_MODEL), with
    ``label`` (its library name) recorded in describe(); ``pin``: keep it loaded (the live model);
    ``dtype``/``offload``: the library entry's overrides of GARDEN_DIFFUSION_DTYPE/_OFFLOAD ("": the worker's).
    """
    if name == PROCEDURAL:
        return _procedural.get()
    if name == DIFFUSERS:
        from django.conf import settings

        return loaded_pipelines.get(model or settings.GARDEN_DIFFUSION_MODEL, label=label, pin=pin, dtype=dtype, offload=offload)
    raise BackendError(f"Unknown generator backend {name!r}: expected one of {', '.join(BACKENDS)}.")


def model_id_for(name: str) -> str:
    """The model a job on this backend will use, without loading anything."""
    from django.conf import settings

    if name == PROCEDURAL:
        from generation.backends.procedural import MODEL_ID

        return MODEL_ID
    return settings.GARDEN_DIFFUSION_MODEL
