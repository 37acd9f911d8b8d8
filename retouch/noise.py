"""A1111's ``initial_noise_multiplier`` for diffusers' inpainting pipelines, which have no such
argument: the retouch engine wraps one call with ``scaled_initial_noise``."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def scaled_initial_noise(pipeline, multiplier: float):
    """Scale the noise a pipeline starts from (A1111's ``initial_noise_multiplier``), for one call.

    Inpainting pipelines draw the noise inside ``prepare_latents`` and either use it alone
    (strength 1) or add it to the image latents through ``scheduler.add_noise``: both paths are
    scaled here; the noise later used to re-noise the kept area is left as drawn.
    """
    if multiplier == 1.0:
        yield
        return
    original = pipeline.prepare_latents

    def prepare_latents(*args, **kwargs):
        scheduler = pipeline.scheduler
        add_noise = scheduler.add_noise
        scheduler.add_noise = lambda samples, noise, timesteps: add_noise(samples, noise * multiplier, timesteps)
        try:
            outputs = original(*args, **kwargs)
        finally:
            del scheduler.add_noise
        latents_given = (args[7] if len(args) > 7 else kwargs.get("latents")) is not None
        if kwargs.get("is_strength_max", True) and not latents_given:
            outputs = (outputs[0] * multiplier, *outputs[1:])
        return outputs

    pipeline.prepare_latents = prepare_latents
    try:
        yield
    finally:
        del pipeline.prepare_latents
