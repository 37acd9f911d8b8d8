"""Breeding: new pictures' recipes (procedural) or job changes (diffusers) from a key's liked
serving pictures. Free of the database.

Parents are drawn by Thompson sampling on their like-rates (a prior of the key's pooled rate, so an
unseen picture does not beat a liked one), so breeding explores while data is thin and exploits as
it grows. Procedural children are blends, crossovers or bold mutations of recipes (bold: a step
smaller than a few impressions' noise could never be told apart); diffusers children repeat one
parent's job changed by one operator (prompt, model, img2img, variation). The shares and strengths
are the constants below; the why and the measurements: docs/gardener.md#breeding.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from gardener import surrogate
from gardener.prompts import mutate_prompt
from generation.backends import recipes
from generation.requests import MAX_LORAS, SEED_LIMIT  # MAX_LORAS: a parent with as many takes no more

MUTATE_STRENGTH = 1.0
CROSSOVER_STRENGTH = 0.3
BLEND_STRENGTH = 0.5
BLEND_PARENTS = 3
# Recombination weights by Thompson rank (evolution strategies' log weights): 1.25, 0.56, 0.15.
BLEND_WEIGHTS = tuple(math.log(BLEND_PARENTS + 0.5) - math.log(rank) for rank in range(1, BLEND_PARENTS + 1))
# Shares of the procedural operators. Blends most: blend-only breeding got further than crossover
# and mutation by halves (docs/benchmarks.md#figures-behind-the-code); a few crossovers and bold
# mutations keep variety.
BLEND_SHARE = 0.75
CROSSOVER_SHARE = 0.125  # the rest (0.125) are bold mutations of one parent
PRIOR_IMPRESSIONS = 10.0
VARIATION_STRENGTH = 0.25
SUBSEED_LIMIT = 2**32
MIN_CANDIDATES = 2  # with fewer serving pictures that have recipes, a key is filled with fresh ones
# A diffusers child's operator, drawn with these shares (the rest are variations). A prompt
# mutation is a bold step (new words change what is painted, not only how the noise falls), and a
# child is judged by visitors' likes, where only a bold step can be told from noise (see
# MUTATE_STRENGTH): so half the children of a key with a word bank are prompt mutations, and the
# rest keep refining liked pictures by variation seed. A model or LoRA change is the boldest (a
# different painter) and the library's choices are few, so it is rarer. A drawn operator with
# nothing to change (no bank, no library) makes a variation instead.
PROMPT_SHARE = 0.5
MODEL_SHARE = 0.15
# img2img from the parent's own picture: a step between a variation seed (new noise, same
# composition only as far as the seed's share allows) and a prompt mutation; needs nothing but the
# parent, so any diffusers key can take it. Low strength, as A1111's variations by img2img: 0.35
# keeps the layout and colours and redraws the details (and runs only 35 % of the steps).
IMG2IMG_SHARE = 0.15
IMG2IMG_STRENGTH = 0.35
LORA_WEIGHT = 0.75  # a LoRA a child takes on: felt, without taking the picture over


@dataclass(frozen=True)
class Candidate:
    image_id: int
    recipe: recipes.Recipe | None  # None: a diffusers picture (bred by variation seeds)
    impressions: int = 0
    likes: int = 0
    generation: int = 0
    # False: a picture no longer serving (retired), whose likes still teach the surrogate
    # (gardener.surrogate) but which is never a parent.
    serving: bool = True

    def draw(self, rng: random.Random, prior: float) -> float:
        """A like-rate drawn from the posterior, the prior being ``prior`` worth PRIOR_IMPRESSIONS impressions."""
        a, b = PRIOR_IMPRESSIONS * prior, PRIOR_IMPRESSIONS * (1 - prior)
        return rng.betavariate(a + self.likes, b + max(0, self.impressions - self.likes))


@dataclass(frozen=True)
class Child:
    recipe: recipes.Recipe | None
    parents: tuple[int, ...]
    operator: str
    generation: int
    subseed: int | None = None  # variations: the variation seed (at VARIATION_STRENGTH)
    # img2img children: the picture they start from (the parent's) and their own new seed.
    init_image: int | None = None
    seed: int | None = None
    # Diffusers children: what they paint with, when it differs from the parent's.
    prompt: str | None = None
    model: str | None = None
    loras: tuple[tuple[str, float], ...] | None = None
    changes: tuple[str, ...] = ()  # for people: "added 'misty lake'", "model tiny-sd-b"

    @property
    def lineage(self) -> dict:
        """As generation.lineage records it."""
        return {"parents": list(self.parents), "operator": self.operator, "generation": self.generation}


@dataclass(frozen=True)
class Painter:
    """What a diffusers parent was painted with: its prompt, its library pipeline ("" without a
    library), its LoRAs and its steps (0: not known)."""

    prompt: str
    model: str = ""
    loras: tuple[tuple[str, float], ...] = ()
    steps: int = 0


@dataclass(frozen=True)
class Choices:
    """What a key's diffusers children may change to: the key's word bank, the phrases never swapped
    out (its emotion and favorite words), and the usable library pipelines and LoRAs by name → family."""

    words: tuple[str, ...] = ()
    keep: Collection[str] = ()
    pipelines: Mapping[str, str] = field(default_factory=dict)
    loras: Mapping[str, str] = field(default_factory=dict)


def _ranked(candidates: list[Candidate], rng: random.Random) -> list[Candidate]:
    """The candidates by one Thompson draw each, best first."""
    if len(candidates) < MIN_CANDIDATES:
        raise ValueError(f"breeding needs at least {MIN_CANDIDATES} candidates, got {len(candidates)}")
    # The key's pooled like-rate, kept off 0 and 1 (a Beta needs both parameters above zero).
    prior = (1 + sum(c.likes for c in candidates)) / (2 + sum(c.impressions for c in candidates))
    return sorted(candidates, key=lambda c: c.draw(rng, prior), reverse=True)


def breed(candidates: list[Candidate], count: int, rng: random.Random) -> list[Child]:
    """``count`` children of the serving ``candidates`` with recipes (at least MIN_CANDIDATES),
    parents by Thompson sampling. With a surrogate of the key's like-rates (gardener.surrogate,
    fitted on every candidate visitors saw, retired ones included), each child is the best of
    surrogate.PROPOSALS made the same way, by the surrogate's upper bound."""
    if any(c.recipe is None for c in candidates):
        raise ValueError("recipe breeding needs candidates with recipes")
    parents = [c for c in candidates if c.serving]
    model = surrogate.LikeRates.fit([(c.recipe, c.impressions, c.likes) for c in candidates if c.recipe is not None])
    children: list[Child] = []
    for _ in range(count):
        if model is None:
            children.append(_child(parents, rng))
            continue
        proposals = [_child(parents, rng) for _ in range(surrogate.PROPOSALS)]
        bounds = model.upper_bound([child.recipe for child in proposals if child.recipe is not None])
        children.append(proposals[int(bounds.argmax())])
    return children


def _child(candidates: list[Candidate], rng: random.Random) -> Child:
    ranked = _ranked(candidates, rng)
    first, second = ranked[0], ranked[1]
    parents: tuple[Candidate, ...]
    assert first.recipe is not None and second.recipe is not None
    draw = rng.random()
    if draw < BLEND_SHARE:
        parents = tuple(ranked[:BLEND_PARENTS])
        blended = recipes.blend([p.recipe for p in parents if p.recipe is not None], BLEND_WEIGHTS[: len(parents)])
        recipe = recipes.mutate(blended, rng, BLEND_STRENGTH)
        operator = "blend"
    elif draw < BLEND_SHARE + CROSSOVER_SHARE:
        recipe = recipes.mutate(recipes.crossover(first.recipe, second.recipe, rng), rng, CROSSOVER_STRENGTH)
        parents, operator = (first, second), "crossover"
    else:
        recipe = recipes.mutate(first.recipe, rng, MUTATE_STRENGTH)
        parents, operator = (first,), "mutate"
    generation = 1 + max(parent.generation for parent in parents)
    return Child(recipe, tuple(parent.image_id for parent in parents), operator, generation)


def breed_diffusers(
    candidates: list[Candidate], count: int, rng: random.Random, *, painters: Mapping[int, Painter], choices: Choices
) -> list[Child]:
    """``count`` children of diffusers pictures, each of one parent chosen by Thompson sampling: a
    prompt mutation, a model/LoRA change, an img2img repaint or a variation, by PROMPT_SHARE,
    MODEL_SHARE and IMG2IMG_SHARE."""
    children = []
    for _ in range(count):
        parent = _ranked(candidates, rng)[0]
        painter = painters[parent.image_id]
        draw = rng.random()
        child = None
        if draw < MODEL_SHARE:
            child = _model_child(parent, painter, choices, rng)
        elif draw < MODEL_SHARE + PROMPT_SHARE:
            child = _prompt_child(parent, painter, choices, rng)
        elif draw < MODEL_SHARE + PROMPT_SHARE + IMG2IMG_SHARE:
            child = _img2img_child(parent, painter, rng)
        children.append(child or _variation(parent, rng))
    return children


def _img2img_child(parent: Candidate, painter: Painter, rng: random.Random) -> Child | None:
    """None for a parent painted in so few steps that IMG2IMG_STRENGTH of them is none (turbo models)."""
    if painter.steps and painter.steps * IMG2IMG_STRENGTH < 1:
        return None
    return Child(
        None,
        (parent.image_id,),
        "img2img",
        parent.generation + 1,
        init_image=parent.image_id,
        seed=rng.randrange(SEED_LIMIT),
        changes=(f"repainted at denoising strength {IMG2IMG_STRENGTH:g}",),
    )


def _variation(parent: Candidate, rng: random.Random) -> Child:
    return Child(None, (parent.image_id,), "variation", parent.generation + 1, subseed=rng.randrange(SUBSEED_LIMIT))


def _prompt_child(parent: Candidate, painter: Painter, choices: Choices, rng: random.Random) -> Child | None:
    if not choices.words:
        return None
    mutation = mutate_prompt(painter.prompt, choices.words, rng, keep=choices.keep)
    if mutation is None:
        return None
    return Child(None, (parent.image_id,), "prompt", parent.generation + 1, prompt=mutation.prompt, changes=mutation.changes)


def _model_child(parent: Candidate, painter: Painter, choices: Choices, rng: random.Random) -> Child | None:
    """Another pipeline of the parent's family, or one more LoRA of it; None without either (or
    without a library: a parent painted with no library pipeline has no family to match)."""
    family = choices.pipelines.get(painter.model)
    if family is None:
        return None
    has = {name for name, _ in painter.loras}
    options = [("model", name) for name, other in sorted(choices.pipelines.items()) if other == family and name != painter.model]
    if len(painter.loras) < MAX_LORAS:
        options += [("lora", name) for name, other in sorted(choices.loras.items()) if other == family and name not in has]
    if not options:
        return None
    kind, name = rng.choice(options)
    if kind == "model":
        return Child(None, (parent.image_id,), "model", parent.generation + 1, model=name, changes=(f"model {name}",))
    loras = (*painter.loras, (name, LORA_WEIGHT))
    return Child(None, (parent.image_id,), "model", parent.generation + 1, loras=loras, changes=(f"LoRA {name} at {LORA_WEIGHT:g}",))
