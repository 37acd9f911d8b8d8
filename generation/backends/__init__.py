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


_instances: dict[tuple, Backend] = {}


def get_backend(name: str) -> Backend:
    """The process-wide backend instance for ``name`` under the current settings."""
    from django.conf import settings

    if name == PROCEDURAL:
        key: tuple = (PROCEDURAL,)
    elif name == DIFFUSERS:
        key = (
            DIFFUSERS,
            settings.GARDEN_DIFFUSION_MODEL,
            settings.GARDEN_DIFFUSION_DEVICE,
            settings.GARDEN_DIFFUSION_SCHEDULER,
            settings.GARDEN_DIFFUSION_COMPILE,
            settings.GARDEN_HF_OFFLINE,
        )
    else:
        raise BackendError(f"Unknown generator backend {name!r}: expected one of {', '.join(BACKENDS)}.")
    backend = _instances.get(key)
    if backend is None:
        if name == PROCEDURAL:
            from generation.backends.procedural import ProceduralBackend

            backend = ProceduralBackend()
        else:
            from generation.backends.diffusion import DiffusersBackend

            backend = DiffusersBackend(
                model=settings.GARDEN_DIFFUSION_MODEL,
                device=settings.GARDEN_DIFFUSION_DEVICE,
                scheduler=settings.GARDEN_DIFFUSION_SCHEDULER,
                compile_unet=settings.GARDEN_DIFFUSION_COMPILE,
                offline=settings.GARDEN_HF_OFFLINE,
            )
        # One pipeline per process: a settings change (tests, a reconfigured worker) drops the old one.
        if name == DIFFUSERS:
            for old in [k for k in _instances if k[0] == DIFFUSERS]:
                del _instances[old]
        _instances[key] = backend
    return backend


def model_id_for(name: str) -> str:
    """The model a job on this backend will use, without loading anything."""
    from django.conf import settings

    if name == PROCEDURAL:
        from generation.backends.procedural import MODEL_ID

        return MODEL_ID
    return settings.GARDEN_DIFFUSION_MODEL


def clear_backends() -> None:
    """Drop cached backends (tests, and a worker that must reload after a settings change)."""
    _instances.clear()
