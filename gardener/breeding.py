"""Breeding: recipes for new pictures from a key's liked serving pictures. Free of the database.

Parents are drawn by Thompson sampling: for each child, every candidate's like-rate is drawn from
its posterior and the best draw is the parent (the second best is the other parent of a
crossover). The prior is the key's pooled like-rate *m* worth PRIOR_IMPRESSIONS impressions,
Beta(k·m, k·(1 − m)), so the posterior is Beta(k·m + likes, k·(1 − m) + impressions − likes). (A
uniform prior would make an unseen picture's draw beat a well-liked one most of the time, since
like-rates are far below ½.) A well-liked picture is chosen often, an unseen one sometimes, a
passed-over one rarely: breeding explores while the data is thin and exploits as it grows. A
child is

- ``crossover`` (half the children, when there are two candidates): the parents' recipes crossed
  (``recipes.crossover``), then nudged (``mutate`` at CROSSOVER_STRENGTH);
- ``mutate``: one parent's recipe moved (``mutate`` at MUTATE_STRENGTH).

The steps are bold (strength 1: about 0.1 in ``recipes.distance``), because a child is judged by
visitors' likes: a look that differs from its parent's by less than a few impressions' worth of
noise can never be told apart. In the simulation (bench/gardener.py, seed 0, with trials) the garden
got 0.10 of the way to the best recipe in 5,000 likes at strength 1, and 0.02 at strength 0.3.

Its generation is one more than its parents' highest (a fresh picture is generation 0).

Diffusers pictures have no recipe: their children are ``variation``s (``breed_variations``): the
parent's prompt, seed, model, LoRAs, steps and guidance with A1111's variation seed (a random
``subseed`` at VARIATION_STRENGTH), so the child is the parent's picture moved a little. Prompt
mutations from a word bank and img2img variations are not built.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from generation.backends import recipes

MUTATE_STRENGTH = 1.0
CROSSOVER_STRENGTH = 0.3
CROSSOVER_SHARE = 0.5
PRIOR_IMPRESSIONS = 10.0
VARIATION_STRENGTH = 0.25
SUBSEED_LIMIT = 2**32
MIN_CANDIDATES = 2  # with fewer serving pictures that have recipes, a key is filled with fresh ones


@dataclass(frozen=True)
class Candidate:
    image_id: int
    recipe: recipes.Recipe | None  # None: a diffusers picture (bred by variation seeds)
    impressions: int = 0
    likes: int = 0
    generation: int = 0

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

    @property
    def lineage(self) -> dict:
        return {"parents": list(self.parents), "operator": self.operator, "generation": self.generation}


def _ranked(candidates: list[Candidate], rng: random.Random) -> list[Candidate]:
    """The candidates by one Thompson draw each, best first."""
    if len(candidates) < MIN_CANDIDATES:
        raise ValueError(f"breeding needs at least {MIN_CANDIDATES} candidates, got {len(candidates)}")
    # The key's pooled like-rate, kept off 0 and 1 (a Beta needs both parameters above zero).
    prior = (1 + sum(c.likes for c in candidates)) / (2 + sum(c.impressions for c in candidates))
    return sorted(candidates, key=lambda c: c.draw(rng, prior), reverse=True)


def breed(candidates: list[Candidate], count: int, rng: random.Random) -> list[Child]:
    """``count`` children of ``candidates`` with recipes (at least MIN_CANDIDATES), parents by Thompson sampling."""
    if any(c.recipe is None for c in candidates):
        raise ValueError("recipe breeding needs candidates with recipes")
    children: list[Child] = []
    for _ in range(count):
        ranked = _ranked(candidates, rng)
        first, second = ranked[0], ranked[1]
        parents: tuple[Candidate, ...]
        assert first.recipe is not None and second.recipe is not None
        if rng.random() < CROSSOVER_SHARE:
            recipe = recipes.mutate(recipes.crossover(first.recipe, second.recipe, rng), rng, CROSSOVER_STRENGTH)
            parents, operator = (first, second), "crossover"
        else:
            recipe = recipes.mutate(first.recipe, rng, MUTATE_STRENGTH)
            parents, operator = (first,), "mutate"
        generation = 1 + max(parent.generation for parent in parents)
        children.append(Child(recipe, tuple(parent.image_id for parent in parents), operator, generation))
    return children


def breed_variations(candidates: list[Candidate], count: int, rng: random.Random) -> list[Child]:
    """``count`` variations of diffusers pictures: each of one parent chosen by Thompson sampling."""
    children = []
    for _ in range(count):
        parent = _ranked(candidates, rng)[0]
        children.append(Child(None, (parent.image_id,), "variation", parent.generation + 1, subseed=rng.randrange(SUBSEED_LIMIT)))
    return children
