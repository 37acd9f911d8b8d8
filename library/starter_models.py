"""A short list of starter models for ``manage.py install_model --list`` and docs/models.md.

Data only: each starter names where it comes from (a Hub repo id, or an https URL of one file),
what kind of library entry it makes, its licence and its approximate download size. ``manage.py
install_model <name>`` installs one (library.services.install). Sizes are what the install
downloads (the fp16 variant where one is named), rounded; licences are the model cards' own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class Starter:
    name: str  # what install_model takes, and the installed entry's name
    kind: str  # checkpoint, pipeline (a diffusers folder), lora, embedding, vae, upscaler (install kinds)
    source: str  # a Hub repo id or an https URL
    licence: str  # a licence's own name, or a catalog entry where it has a note (the install page translates it)
    size: str  # approximate download
    about: str  # a catalog entry: English here and in install_model --list, translated on the install page
    variant: str = ""  # the Hub variant to take (fp16), when the repo has one


STARTERS: tuple[Starter, ...] = (
    Starter(
        "sd-turbo",
        "pipeline",
        "stabilityai/sd-turbo",
        gettext_noop("Stability AI Community License (non-commercial without a licence)"),
        "2.6 GB",
        gettext_noop("SD 2.1 distilled: 1–4 steps at 512×512, no guidance; the live picture's model"),
        variant="fp16",
    ),
    Starter(
        "sdxl-turbo",
        "pipeline",
        "stabilityai/sdxl-turbo",
        gettext_noop("Stability AI Community License (non-commercial without a licence)"),
        "7 GB",
        gettext_noop("SDXL distilled: 1–4 steps at 512×512, no guidance"),
        variant="fp16",
    ),
    Starter(
        "sd15",
        "checkpoint",
        "https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/main/v1-5-pruned-emaonly.safetensors",
        "CreativeML OpenRAIL-M",
        "4.3 GB",
        gettext_noop("Stable Diffusion 1.5, one single-file checkpoint, 512×512"),
    ),
    Starter(
        "sdxl-base",
        "checkpoint",
        "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors",
        "CreativeML OpenRAIL++-M",
        "6.9 GB",
        gettext_noop("SDXL 1.0 base, one single-file checkpoint, 1024×1024"),
    ),
    Starter(
        "sdxl-vae-fp16-fix",
        "vae",
        "https://huggingface.co/madebyollin/sdxl-vae-fp16-fix/resolve/main/sdxl.vae.safetensors",
        "MIT",
        "335 MB",
        gettext_noop("SDXL's VAE rescaled to decode in fp16 without NaNs (black pictures)"),
    ),
    Starter(
        "realesrgan-x4plus",
        "upscaler",
        "https://huggingface.co/Comfy-Org/Real-ESRGAN_repackaged/resolve/main/RealESRGAN_x4plus.safetensors",
        "BSD-3-Clause",
        "64 MB",
        gettext_noop("Real-ESRGAN ×4 (ESRGAN family) for hires fix and extra-single-image"),
    ),
)


def get(name: str) -> Starter | None:
    return next((starter for starter in STARTERS if starter.name == name), None)
