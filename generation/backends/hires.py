"""Hires fix: paint at the model's native size, upscale, and repaint at the asked size.

A model trained at 512x512 paints a 1280x800 picture with repeated shapes and broken anatomy; A1111,
ComfyUI and InvokeAI all paint such pictures in two passes instead, and so does this module:

1. the batch at ``HiresFix.first_width`` x ``first_height`` (about the model's native area, in the
   picture's aspect: ``first_pass_size``), ``batch.steps`` steps;
2. the first pass upscaled to the picture's size, covering it and cropped to it in the middle:
   its latents interpolated (the ``latent…`` upscalers, A1111's "Latent" family: no decode
   between the passes), or its pictures resized (``lanczos``, ``nearest``, ``none``) or run
   through an ESRGAN-family model of the library (generation.backends.upscalers);
3. image-to-image on the upscaled start (the loaded pipeline's ``from_pipe`` twin) at
   ``HiresFix.denoising``, running exactly ``HiresFix.steps`` steps as AUTOMATIC1111 counts its
   ``hr_second_pass_steps`` (``second_pass_schedule``).

Progress counts both passes: the first reports steps 1…``batch.steps``, the second
``batch.steps`` + 1…``batch.steps`` + ``HiresFix.steps``. A batch's VAE (``batch.vae``, generation.backends.vaes) is
swapped in around both passes. Nothing here imports torch at import time: the web tier reads the
names and ``first_pass_size``.
"""

from __future__ import annotations

import math
from dataclasses import replace

from generation.backends import BackendError, Batch, HiresFix, StepCallback

# Our latent upscaler names → (torch interpolation mode, antialias); A1111's names in a1111.txt2img.
LATENT_UPSCALERS = {
    "latent": ("bilinear", False),
    "latent-antialiased": ("bilinear", True),
    "latent-bicubic": ("bicubic", False),
    "latent-bicubic-antialiased": ("bicubic", True),
    "latent-nearest": ("nearest", False),
    "latent-nearest-exact": ("nearest-exact", False),
}
# Resamplers of the decoded picture (generation.backends.upscalers.RESAMPLERS; "none" is Lanczos, as in A1111).
PIXEL_UPSCALERS = ("lanczos", "nearest", "none")
BUILT_IN = (*LATENT_UPSCALERS, *PIXEL_UPSCALERS)
# The most steps a schedule may have: the training timesteps of the DDPM-family schedulers.
SCHEDULE_LIMIT = 1000


def second_pass_schedule(steps: int, denoising: float, *, flow: bool = False) -> tuple[int, float]:
    """(the steps to schedule, the img2img strength) that run exactly ``steps`` denoising steps.

    AUTOMATIC1111's ``setup_img2img_steps`` (the hires pass, and img2img with ``img2img_fix_steps``)
    schedules ``int(steps / min(denoising, 0.999))`` steps and starts ``steps`` before their end.
    diffusers' img2img starts ``int(scheduled × strength)`` before the end (SD 1.x/2.x, SDXL) or
    at ``int(scheduled − scheduled × strength)`` (``flow``: Flux, SD 3): the strength is nudged by
    the last bits so that the product lands on the right side of ``steps`` for that rule.
    """
    scheduled = max(steps, int(steps / min(denoising, 0.999)))
    strength = steps / scheduled
    if flow:
        while scheduled * strength > steps:
            strength = math.nextafter(strength, 0.0)
    else:
        while scheduled * strength < steps:
            strength = math.nextafter(strength, 2.0)
    return scheduled, min(strength, 1.0)


def first_pass_size(width: int, height: int, native_width: int, native_height: int) -> tuple[int, int] | None:
    """The model's native area in the picture's aspect, in multiples of 8 (at least 64); None when the
    picture is no larger than the native area (one pass is right then)."""
    if width * height <= native_width * native_height:
        return None
    scale = math.sqrt(native_width * native_height / (width * height))
    return max(64, round(width * scale / 8) * 8), max(64, round(height * scale / 8) * 8)


def for_picture(options: dict | None, width: int, height: int) -> HiresFix | None:
    """The hires fix of a job's ``options["hires"]`` for pictures of ``width`` x ``height`` (a bulk
    job's landscape and portrait get their own first passes); None without one, or when that size is
    no larger than the model's native area."""
    hires = (options or {}).get("hires")
    if not hires:
        return None
    if hires.get("first"):  # asked explicitly (A1111's width/height): landscape as asked, portrait swapped
        first_width, first_height = hires["first"]
        if (first_width > first_height) != (width > height) and first_width != first_height:
            first_width, first_height = first_height, first_width
    else:
        size = first_pass_size(width, height, *hires["native"])
        if size is None:
            return None
        first_width, first_height = size
    return HiresFix(
        first_width=first_width, first_height=first_height, upscaler=hires["upscaler"], steps=hires["steps"],
        denoising=hires["denoising"],
    )  # fmt: skip


def batch_steps(options: dict | None, steps: int) -> int:
    """Steps one batch of the job reports: its steps, plus the second pass's with a hires fix."""
    hires = (options or {}).get("hires")
    return steps + (hires["steps"] if hires else 0)


# --- the worker side ---------------------------------------------------------------------------


def paint(backend, batch: Batch, *, on_step: StepCallback | None = None) -> list:
    """The batch's pictures from ``backend`` (generation.backends.diffusion): with its VAE swapped in
    (``batch.vae``, the file in ``batch.extra["vae_path"]``) and in two passes when it has a hires fix."""
    from generation.backends import vaes

    plain = replace(batch, hires=None, vae="")
    with vaes.swapped(backend, path=batch.extra.get("vae_path", "") if batch.vae else "", name=batch.vae):
        if batch.hires is None:
            return backend.generate(plain, on_step=on_step)
        return _two_passes(backend, plain, batch.hires, on_step)


def _two_passes(backend, batch: Batch, fix: HiresFix, on_step: StepCallback | None) -> list:
    import torch

    latent = fix.upscaler in LATENT_UPSCALERS
    if latent and hasattr(backend.pipeline, "_pack_latents"):  # Flux: its latents are patch sequences, not pictures
        raise BackendError(
            f"The latent upscalers need a model whose latents are pictures (SD 1.x/2.x, SDXL, SD 3); "
            f"{backend.label or backend.model} packs them (Flux): use lanczos, nearest or a library upscaler (hires_upscaler)."
        )
    extra = {key: value for key, value in batch.extra.items() if key != "output_type"}
    first = replace(batch, width=fix.first_width, height=fix.first_height, extra=extra | ({"output_type": "latent"} if latent else {}))
    painted = backend.generate(first, on_step=on_step)
    if latent:
        factor = getattr(backend.pipeline, "vae_scale_factor", 8) or 8
        starts = upscale_latents(torch, painted, batch.width // factor, batch.height // factor, fix.upscaler)
    else:
        from generation.backends import upscalers

        path = batch.extra.get("upscaler_path", "")
        dtype = getattr(backend.pipeline, "dtype", None) if path and str(backend.device or "").startswith("cuda") else None
        device = str(backend.device or "cpu")
        starts = [
            cover(upscalers, picture, batch.width, batch.height, upscaler=fix.upscaler, path=path, device=device, dtype=dtype)
            for picture in painted
        ]
    flow = "FlowMatch" in type(getattr(backend.pipeline, "scheduler", None)).__name__
    scheduled, strength = second_pass_schedule(fix.steps, fix.denoising, flow=flow)
    second = replace(batch, init_image=starts, denoising_strength=strength, steps=scheduled, extra=extra)
    if on_step is None:
        return backend.generate(second)
    report, done = on_step, batch.steps

    def second_step(reported: int) -> None:  # img2img reports out of the scheduled steps: back to the steps run
        report(done + round(reported * fix.steps / scheduled))

    return backend.generate(second, on_step=second_step)


def _cover_size(width: int, height: int, target_width: int, target_height: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled to cover the target (A1111's hires resize: no stretching)."""
    scale = max(target_width / width, target_height / height)
    return max(target_width, round(width * scale)), max(target_height, round(height * scale))


def _crop(width: int, height: int, target_width: int, target_height: int) -> tuple[int, int, int, int]:
    left, top = (width - target_width) // 2, (height - target_height) // 2
    return left, top, left + target_width, top + target_height


def upscale_latents(torch, latents, width: int, height: int, upscaler: str):
    """The first pass's latents (one per picture) interpolated to cover ``width`` x ``height`` latent
    pixels and cropped to it in the middle: one per picture, for the second pass."""
    mode, antialias = LATENT_UPSCALERS[upscaler]
    stacked = torch.stack(list(latents)) if isinstance(latents, list | tuple) else latents
    cover_width, cover_height = _cover_size(stacked.shape[-1], stacked.shape[-2], width, height)
    options = {"antialias": True} if antialias else {}
    scaled = torch.nn.functional.interpolate(stacked.float(), size=(cover_height, cover_width), mode=mode, **options).to(stacked.dtype)
    left, top, right, bottom = _crop(cover_width, cover_height, width, height)
    return list(scaled[:, :, top:bottom, left:right])


def cover(upscalers, picture, width: int, height: int, **options):
    """A decoded first-pass picture upscaled to cover ``width`` x ``height``, cropped to it in the middle."""
    cover_width, cover_height = _cover_size(picture.width, picture.height, width, height)
    upscaled = upscalers.upscale(picture, cover_width, cover_height, **options)
    return upscaled.crop(_crop(cover_width, cover_height, width, height)) if upscaled.size != (width, height) else upscaled
