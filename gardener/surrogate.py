"""A surrogate of a key's like-rates over recipes: which of several possible children to breed.
Free of the database (gardener.breeding uses it, gardener.selectors reads its data).

One child's likes are a few dozen coin flips, but a key's pictures together say a good deal about
which looks its visitors like: a Gaussian-process regression of each picture's like-rate on its
recipe's ``features`` (prior: the key's pooled rate, AMPLITUDE, LENGTH_SCALE; noise: each picture's
binomial noise). gardener.breeding makes PROPOSALS children and keeps the one with the highest
``LikeRates.upper_bound`` (mean plus KAPPA standard deviations); with fewer than MIN_SEEN pictures
seen there is none. Why these values: docs/gardener.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from generation.backends import recipes

AMPLITUDE = 0.01
LENGTH_SCALE = 1.0
KAPPA = 1.0
PROPOSALS = 16
MIN_SEEN = 5
# The newest pictures a key's surrogate is fitted on (the fit costs the cube of their number).
MAX_HISTORY = 500


def features(recipe: recipes.Recipe) -> np.ndarray:
    """The recipe as numbers in 0–1: each colour's channels, the palette's mean colour, each number
    by its bounds, petals, spikiness and the light (one per kind). The layout seed is left out, as
    in ``recipes.distance``."""
    values: list[float] = []
    for name in recipes.COLOR_FIELDS:
        values += [channel / 255 for channel in getattr(recipe, name)]
    values += [sum(color[i] for color in recipe.palette) / (255 * len(recipe.palette)) for i in range(3)]
    for name, (low, high) in recipes.FLOAT_BOUNDS.items():
        values.append((getattr(recipe, name) - low) / (high - low))
    values.append((recipe.petals - recipes.PETAL_BOUNDS[0]) / (recipes.PETAL_BOUNDS[1] - recipes.PETAL_BOUNDS[0]))
    values.append(float(recipe.spiky))
    values += [float(recipe.light == light) for light in recipes.LIGHTS]
    return np.array(values)


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
    return AMPLITUDE * np.exp(-squared / (2 * LENGTH_SCALE**2))


@dataclass(frozen=True)
class LikeRates:
    points: np.ndarray  # features of the pictures fitted on
    prior: float  # the pooled like-rate
    cholesky: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, seen: Sequence[tuple[recipes.Recipe, int, int]]) -> LikeRates | None:
        """From (recipe, impressions, likes) of the pictures visitors saw; None with fewer than MIN_SEEN."""
        seen = [(recipe, impressions, likes) for recipe, impressions, likes in seen if impressions > 0]
        if len(seen) < MIN_SEEN:
            return None
        points = np.array([features(recipe) for recipe, _, _ in seen])
        impressions = np.array([n for _, n, _ in seen], dtype=float)
        likes = np.clip(np.array([k for _, _, k in seen], dtype=float), 0, impressions)
        # Kept off 0 and 1, so every picture has some noise.
        prior = float((likes.sum() + 1) / (impressions.sum() + 2))
        noise = prior * (1 - prior) / impressions
        cholesky = np.linalg.cholesky(_kernel(points, points) + np.diag(noise))
        weights = np.linalg.solve(cholesky.T, np.linalg.solve(cholesky, likes / impressions - prior))
        return cls(points, prior, cholesky, weights)

    def predict(self, candidates: Sequence[recipes.Recipe]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of each recipe's like-rate."""
        x = np.array([features(recipe) for recipe in candidates])
        cross = _kernel(x, self.points)
        mean = self.prior + cross @ self.weights
        v = np.linalg.solve(self.cholesky, cross.T)
        variance = np.maximum(AMPLITUDE - (v * v).sum(axis=0), 0.0)
        return mean, np.sqrt(variance)

    def upper_bound(self, candidates: Sequence[recipes.Recipe]) -> np.ndarray:
        mean, sd = self.predict(candidates)
        return mean + KAPPA * sd
