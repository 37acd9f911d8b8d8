"""Image-to-image text jobs: a bulk or images job may start from a garden image instead of noise.

``JobRequest.init_image`` names the garden image (its id) and ``denoising_strength`` how much of it
is repainted, as A1111's img2img: 0 keeps the picture, 1 keeps nothing of it; the pipeline runs the
last ``steps × denoising_strength`` of its steps. Only the diffusers backend paints from a picture,
with the job's own model, LoRAs, prompt and sampler (the model's image-to-image pipeline, made on
the loaded one). A bulk job starts each orientation from the image's own twin where it has one
(generation.init_pictures). The gardener's img2img children are such jobs.

Checked here (for generation's own kinds: a kind an app registers validates its own requests),
stored in the job's ``options`` (``init_image``, ``denoising_strength``) and in every
picture's parameters.
"""

from __future__ import annotations

from garden.models import Image
from generation import backends

# A1111's default denoising_strength.
DEFAULT_DENOISING_STRENGTH = 0.75


def init_options(*, init_image, denoising_strength, backend: str, steps, subseed_strength, errors: dict[str, str]) -> dict:
    """``{"init_image": id, "denoising_strength": s}`` for a job that starts from a picture, {} for
    one that does not; every problem goes into ``errors`` under the field's name."""
    if init_image is None:
        if denoising_strength is not None:
            errors["denoising_strength"] = "denoising_strength is for jobs that start from an init_image."
        return {}
    if isinstance(init_image, bool) or not isinstance(init_image, int) or init_image < 1:
        errors["init_image"] = "init_image is the id of a garden image."
        return {}
    if backend != backends.DIFFUSERS:
        errors["init_image"] = f"Starting from a picture needs the diffusers backend; this job uses {backend}."
    elif not Image.objects.with_id(init_image).exists():
        errors["init_image"] = f"No garden image #{init_image}."
    if subseed_strength:
        errors["subseed_strength"] = "A job that starts from an init_image has no variation seed."
    strength = DEFAULT_DENOISING_STRENGTH if denoising_strength is None else denoising_strength
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0 < strength <= 1:
        errors["denoising_strength"] = f"denoising_strength must be a number above 0 and at most 1; got {strength!r}."
        return {}
    if isinstance(steps, int) and steps * strength < 1:
        # diffusers runs int(steps × strength) steps and refuses none.
        errors["denoising_strength"] = f"{steps} steps at denoising_strength {strength:g} leave no step to run: raise either."
    return {"init_image": init_image, "denoising_strength": float(strength)}
