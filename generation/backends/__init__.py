"""Generator backends behind one interface.

A backend turns one *batch* (images of the same size and prompt, one seed each) into PIL images.
Backends are created once per process and cached here: a diffusers pipeline is loaded inside the
worker process that uses it, on first use, never in a parent that forks later.
Nothing here imports torch or diffusers; only ``generation.backends.diffusion`` does, lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image as PILImage

from config.lazy import Lazy

PROCEDURAL = "procedural"
DIFFUSERS = "diffusers"
BACKENDS = (DIFFUSERS, PROCEDURAL)


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

    def describe(self) -> dict:
        """Parameters of the backend worth embedding in each image (model, scheduler, dtype…)."""


def _build_procedural() -> Backend:
    from generation.backends.procedural import ProceduralBackend

    return ProceduralBackend()


def _build_diffusers() -> Backend:
    from django.conf import settings

    from generation.backends.diffusion import DiffusersBackend

    return DiffusersBackend(
        model=settings.GARDEN_DIFFUSION_MODEL,
        device=settings.GARDEN_DIFFUSION_DEVICE,
        scheduler=settings.GARDEN_DIFFUSION_SCHEDULER,
        compile_unet=settings.GARDEN_DIFFUSION_COMPILE,
        offline=settings.GARDEN_HF_OFFLINE,
    )


def _diffusers_settings() -> tuple:
    from django.conf import settings

    return (
        settings.GARDEN_DIFFUSION_MODEL,
        settings.GARDEN_DIFFUSION_DEVICE,
        settings.GARDEN_DIFFUSION_SCHEDULER,
        settings.GARDEN_DIFFUSION_COMPILE,
        settings.GARDEN_HF_OFFLINE,
    )


# One instance per backend and process: a diffusers pipeline is loaded by the worker process
# that runs the first job, and replaced (not kept beside) when its settings change.
_instances: dict[str, Lazy[Backend]] = {
    PROCEDURAL: Lazy(_build_procedural),
    DIFFUSERS: Lazy(_build_diffusers, fingerprint=_diffusers_settings),
}


def get_backend(name: str) -> Backend:
    """The process-wide backend instance for ``name`` under the current settings."""
    if name not in _instances:
        raise BackendError(f"Unknown generator backend {name!r}: expected one of {', '.join(BACKENDS)}.")
    return _instances[name].get()


def model_id_for(name: str) -> str:
    """The model a job on this backend will use, without loading anything."""
    from django.conf import settings

    if name == PROCEDURAL:
        from generation.backends.procedural import MODEL_ID

        return MODEL_ID
    return settings.GARDEN_DIFFUSION_MODEL
