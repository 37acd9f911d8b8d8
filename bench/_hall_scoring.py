"""How a three on screen is scored in the hall (bench/_hall.py) and against its ceilings
(bench/_hall_ceilings.py): the share of the way from a random three to the visitor's best three.
Both import it from here, so neither imports the other's internals."""

from __future__ import annotations

import numpy as np


def share(part: float, whole: float) -> float:
    """part / whole, rounded; NaN when there was no way to go (a tiny smoke garden)."""
    return round(part / whole, 3) if whole > 1e-12 else float("nan")


def random_and_best(chance: np.ndarray, tier: np.ndarray, seen: np.ndarray) -> tuple[float, float]:
    """Mean chance of a random three and of the best three under /garden's order: unseen before
    seen, then the key's own before the fallback tier (ranking.arrange)."""
    random_sum = best_sum = 0.0
    need = 3
    for group in ((~seen) & (tier == 0), (~seen) & (tier == 1), seen & (tier == 0), seen & (tier == 1)):
        values = np.sort(chance[group])[::-1]
        take = min(need, len(values))
        if take:
            random_sum += take * float(values.mean())
            best_sum += float(values[:take].sum())
            need -= take
    shown = 3 - need
    return (random_sum / shown, best_sum / shown) if shown else (0.0, 0.0)
