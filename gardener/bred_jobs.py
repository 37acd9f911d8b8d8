"""The requests of a key's bred jobs (gardener.breeding's children as JobRequests). Reads only;
gardener.services starts the jobs and logs them.

A procedural bred job carries a recipe and a lineage per pair. A diffusers child is a job of one
pair that repeats its parent's prompt, negative prompt, size, steps, guidance, seed, model, LoRAs,
sampler and CLIP skip, changed by its operator: new words in the prompt (``prompt``), another
pipeline or one more LoRA (``model``), the parent's picture as its init image at a low denoising
strength with a new seed (``img2img``), or A1111's variation seed (``variation``).
"""

from __future__ import annotations

import random
from dataclasses import replace

from django.conf import settings

from gardener import breeding, selectors
from gardener.planning import KeyPlan
from generation import backends
from generation.models import GenerationJob
from generation.requests import JobRequest


def bred_requests(key_plan: KeyPlan, rng: random.Random) -> list[tuple[JobRequest, dict]] | None:
    """The key's bred jobs and each one's details for the log (parents; for diffusers children the
    gardener's operator and what it changed). None when the key no longer has parents enough."""
    if not key_plan.bred:
        return []
    generator = settings.GARDEN_GENERATOR_BACKEND
    candidates = selectors.breeding_candidates(key_plan.emotion, key_plan.favorite, generator)
    if len(candidates) < breeding.MIN_CANDIDATES:
        return None
    bulk = JobRequest(kind=GenerationJob.Kind.BULK, emotion=key_plan.emotion, favorite=key_plan.favorite)
    if generator == backends.PROCEDURAL:
        requests = []
        for pairs in key_plan.bred:
            children = breeding.breed(candidates, pairs, rng)
            request = replace(
                bulk,
                count=pairs,
                backend=backends.PROCEDURAL,
                recipes=tuple(child.recipe.to_dict() for child in children if child.recipe is not None),
                lineage=tuple(child.lineage for child in children),
            )
            requests.append((request, {"parents": sorted({p for child in children for p in child.parents})}))
        return requests
    return _diffusers_requests(key_plan, candidates, rng, replace(bulk, count=1, backend=generator))


def _diffusers_requests(
    key_plan: KeyPlan, candidates: list[breeding.Candidate], rng: random.Random, bulk: JobRequest
) -> list[tuple[JobRequest, dict]]:
    parents = selectors.parent_pictures([candidate.image_id for candidate in candidates])
    candidates = [candidate for candidate in candidates if candidate.image_id in parents]  # none quarantined
    if not candidates:
        return []
    painters = {
        image_id: breeding.Painter(parent.image.prompt, parent.model, parent.loras, steps=parent.image.steps or 0)
        for image_id, parent in parents.items()
    }
    pipelines, loras = selectors.library_choices()
    keep = (key_plan.emotion, *key_plan.favorite.split(","))
    choices = breeding.Choices(selectors.word_bank(key_plan.emotion, key_plan.favorite), keep, pipelines, loras)
    # One pair per job (planning): each child repeats its own parent's seed.
    children = breeding.breed_diffusers(candidates, len(key_plan.bred), rng, painters=painters, choices=choices)
    requests = []
    for child in children:
        parent = parents[child.parents[0]]
        image = parent.image
        # By its key's orientation, not its shape: a square pair's portrait twin is no landscape.
        portrait = image.is_portrait
        landscape = (image.height, image.width) if portrait else (image.width, image.height)
        request = replace(
            bulk,
            prompt=image.prompt if child.prompt is None else child.prompt,
            negative_prompt=image.negative_prompt,
            width=landscape[0],
            height=landscape[1],
            steps=image.steps,
            guidance=image.guidance,
            seed=_seed(child, image.seed, portrait=portrait),
            model=(parent.model if child.model is None else child.model) or None,
            loras=parent.loras if child.loras is None else child.loras,
            sampler=parent.options.get("sampler", ""),
            clip_skip=parent.options.get("clip_skip"),
            subseed=child.subseed,
            subseed_strength=breeding.VARIATION_STRENGTH if child.subseed is not None else 0.0,
            init_image=child.init_image,
            denoising_strength=breeding.IMG2IMG_STRENGTH if child.init_image is not None else None,
            lineage=(child.lineage,),
        )
        details = {"parents": list(child.parents), "operator": child.operator}
        if child.changes:
            details["changes"] = list(child.changes)
        requests.append((request, details))
    return requests


def _seed(child: breeding.Child, parent_seed: int | None, *, portrait: bool) -> int | None:
    """An img2img child's own seed (it starts from the picture, with noise of its own); otherwise
    the parent's: the pair's landscape repeats it (a bulk pair paints seed, seed + 1)."""
    if child.seed is not None:
        return child.seed
    return max(0, (parent_seed or 1) - 1) if portrait else parent_seed
