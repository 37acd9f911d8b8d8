"""The parts of a request that name files of the model library: its VAE, the families its LoRAs
and VAE must share with the model, and the short hashes every picture records.

One of JobRequest's parts (JobRequest.validate calls these in order).
"""

from __future__ import annotations

from django.utils.translation import gettext

from generation import backends
from library import selectors as library
from library.models import LibraryEntry

# Families whose LoRAs do not fit one another's UNets (turbo and other: unknown base, not checked).
LORA_FAMILIES = (LibraryEntry.Family.SD1, LibraryEntry.Family.SD2, LibraryEntry.Family.SDXL)
# VAE families that tell SD 1.x/2.x latents (one VAE) from SDXL's (another scaling): a mismatch is refused.
VAE_FAMILIES = LORA_FAMILIES


def identities(entry: LibraryEntry | None, lora_names: list[str]) -> dict:
    """The short hashes (A1111's) of the job's model and LoRAs, as the library knows them now: every
    picture's parameters and infotext say which files painted it (``Model hash``, ``Lora hashes``)."""
    options: dict = {}
    short = (entry.short_hash or entry.content_sha256[:10]) if entry is not None else ""  # a folder: its manifest's digest
    if short:
        options["model_hash"] = short
    hashes = dict(library.loras().filter(name__in=lora_names).exclude(short_hash="").values_list("name", "short_hash"))
    if hashes:
        options["lora_hashes"] = hashes
    return options


def check_lora_families(model: LibraryEntry, names: list[str], errors: dict[str, str]) -> None:
    """A LoRA trained on another family (an SDXL LoRA on SD 1.5) cannot load: say so before queueing."""
    if model.family not in LORA_FAMILIES:
        return
    for lora in library.loras().filter(name__in=names, family__in=LORA_FAMILIES).exclude(family=model.family):
        errors["loras"] = gettext("LoRA %(lora)s is for %(lora_family)s; the model %(model)s is %(model_family)s.") % {
            "lora": repr(lora.name),
            "lora_family": lora.get_family_display(),
            "model": repr(model.name),
            "model_family": model.get_family_display(),
        }
        return


def vae_options(asked: str | None, entry: LibraryEntry | None, backend: str, errors: dict[str, str]) -> dict:
    """``{"vae": name}`` for a library VAE: the one asked, else the model's default_vae; {} for the
    model's own."""
    asked = "" if asked is None else asked
    if not isinstance(asked, str) or len(asked) > 300:
        errors["vae"] = gettext("vae must be the name of a VAE of the library.")
        return {}
    asked = asked.strip()
    if asked.lower() == "none":  # A1111's "None": the model's own VAE, whatever its default
        return {}
    default = asked.lower() in ("", "automatic")
    if default:
        asked = entry.default_vae.strip() if entry is not None else ""
        if not asked:
            return {}
    if backend != backends.DIFFUSERS:
        errors["vae"] = gettext("VAEs are for the diffusers backend; this job uses %(backend)s.") % {"backend": backend}
        return {}
    try:
        vae = library.resolve_vae(asked)
    except library.UnknownEntry as exc:
        whose = gettext(" (the default VAE of the model %(model)s)") % {"model": repr(entry.name)} if default and entry else ""
        errors["vae"] = str(exc) + whose
        return {}
    xl = LibraryEntry.Family.SDXL
    if entry is not None and vae.family in VAE_FAMILIES and entry.family in VAE_FAMILIES and (vae.family == xl) != (entry.family == xl):
        errors["vae"] = gettext("VAE %(vae)s is for %(vae_family)s; the model %(model)s is %(model_family)s.") % {
            "vae": repr(vae.name),
            "vae_family": vae.get_family_display(),
            "model": repr(entry.name),
            "model_family": entry.get_family_display(),
        }
        return {}
    return {"vae": vae.name}
