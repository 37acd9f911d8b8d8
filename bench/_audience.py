"""The gardener benches' hidden audience: per search key and visitor segment, an ideal recipe in
the painter's recipe space (generation.backends.recipes), and the chance that a visitor likes a
picture, FLOOR + (PEAK − FLOOR)·exp(−(d/SIGMA)²), d = recipes.distance(picture, their ideal).
bench/gardener.py runs visitors through the kiosk views on it; bench/gardener_budget.py asks how
far breeding can get on it with a given number of judged impressions.

Each key's ideals are four bold mutations of another emotion's derived recipe (ANCHORS): drawn
around the key's own recipe, the painter's fresh pictures would sit at their centre and any refill
would look like progress. For "calm" the two segments' ideals differ, for "happy" they are one.
Needs Django set up (the recipes module is imported lazily).
"""

from __future__ import annotations

import math
import random
import statistics

KEYS = ("calm", "happy")
ANCHORS = {"calm": "sad", "happy": "surprised"}  # where each key's hidden ideals are drawn from
SEGMENTS = ("adult", "young-adult")  # age groups a kiosk's face analysis gives (garden.Visitor.AgeGroup)
FLOOR, PEAK, SIGMA = 0.05, 0.6, 0.2


class Audience:
    """The hidden ideals of one seed."""

    def __init__(self, seed: int) -> None:
        from generation.backends import recipes

        self.recipes = recipes
        rng = random.Random(f"ideals-{seed}")
        self.ideals: dict[str, dict[str, object]] = {}
        for key in KEYS:
            anchor = recipes.recipe_for(ANCHORS[key], "", 0)
            first = self._bold(anchor, rng)
            second = self._bold(anchor, rng) if key == "calm" else first
            self.ideals[key] = dict(zip(SEGMENTS, (first, second), strict=True))

    def _bold(self, recipe, rng: random.Random, moves: int = 4):
        for _ in range(moves):
            recipe = self.recipes.mutate(recipe, rng, 1.0)
        return recipe

    def like_chance(self, recipe, key: str, segment: str) -> float:
        d = self.recipes.distance(recipe, self.ideals[key][segment])
        return FLOOR + (PEAK - FLOOR) * math.exp(-((d / SIGMA) ** 2))

    def appeal(self, recipe, key: str) -> float:
        """The like chance averaged over the segments (half the visitors each)."""
        return statistics.fmean(self.like_chance(recipe, key, segment) for segment in SEGMENTS)

    def best(self, key: str) -> float:
        """The better of the key's ideals by appeal: a lower bound of the best recipe's (exact for "happy")."""
        return max(self.appeal(ideal, key) for ideal in self.ideals[key].values())
