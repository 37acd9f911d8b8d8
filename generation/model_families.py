"""What a transformer model of the library cannot take, refused when a job is asked (a 400 naming
the field) rather than failed by the worker (docs/models.md#what-is-not-usable-and-why).

The worker refuses the same things when they reach it anyway (generation.backends.conditioning,
loras, diffusion: a model given as GARDEN_DIFFUSION_MODEL has no library family): Flux and SD 3
keep their own flow-matching sampler; PixArt-α takes no LoRAs and paints at its own resolution
bins (no variation seed); none of them reads A1111's prompt weights, textual inversions, or (Flux,
PixArt-α) CLIP skip. SD 3's own pipeline takes CLIP skip.
"""

from __future__ import annotations

from django.utils.translation import gettext

from generation.backends import prompt_weights
from library import selectors as library
from library.models import LibraryEntry

Family = LibraryEntry.Family
TRANSFORMER_FAMILIES = (Family.FLUX, Family.SD3, Family.PIXART)


def refusals(model: LibraryEntry | None, *, loras: list, options: dict, texts: list[str]) -> dict[str, str]:
    """Field → why the model ``model`` cannot take it (empty for SD 1.x/2.x/XL and turbo models)."""
    if model is None or model.family not in TRANSFORMER_FAMILIES:
        return {}
    names = {"model": repr(model.name), "family": model.get_family_display()}
    errors: dict[str, str] = {}
    if loras and model.family == Family.PIXART:
        errors["loras"] = gettext("The model %(model)s (%(family)s) takes no LoRAs.") % names
    if options.get("sampler", "default") != "default" and model.family in (Family.FLUX, Family.SD3):
        errors["sampler"] = gettext("The model %(model)s (%(family)s) paints with its own sampler: leave the sampler out.") % names
    if options.get("subseed_strength") and model.family == Family.PIXART:
        errors["subseed_strength"] = gettext("The model %(model)s (%(family)s) takes no variation seed: use 0.") % names
    if (options.get("clip_skip") or 1) > 1 and model.family != Family.SD3:
        errors["clip_skip"] = gettext("The model %(model)s (%(family)s) takes no CLIP skip: use 1.") % names
    if any(prompt_weights.has_weight_syntax(text) for text in texts):
        errors["prompt"] = (
            gettext("The model %(model)s (%(family)s) reads no prompt weights ((word:1.2), [word]): write the prompt without them.") % names
        )
    elif any(library.embeddings_in(text) for text in texts):
        errors["prompt"] = (
            gettext("The model %(model)s (%(family)s) takes no textual inversions: take the embedding's name out of the prompt.") % names
        )
    return errors
