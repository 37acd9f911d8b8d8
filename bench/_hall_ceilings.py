"""How far rankers that are told the hall's hidden truth get: the ceilings the learnt ranker's
figures in bench/_hall.py are read against.

Each ceiling ranks every probe's candidates (the same probes, keys and /garden tier order as the
learnt ranker's score, nothing seen yet, no exploration) by an estimate of the probe's taste, and
is scored the same way: the share of the way from a random three to the probe's best three.

- ``segment_taste``: the probe's segment's true weights on the pictures' true features and scene
  words. The best any ranker can do for a visitor it has never seen without each picture's own
  evidence: only the visitor's own deviation (and each picture's own appeal) is unknown to it.
- ``segment_taste_and_appeal``: the same plus each picture's own appeal, as if every picture had
  been shown to infinitely many visitors.
- ``ranker_design``: the segment's true logits projected (least squares over the garden's
  pictures) on what the taste model sees: the pictures' standardised looks measured from their
  pixels (garden.looks) and their search keys' words (recommend.taste.key_fields). What the taste
  model's linear form could reach with unlimited likes; an "Any" picture's scene is not in its
  key, and its pixels show it only through the features.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

import numpy as np

from bench._hall_scoring import random_and_best, share


def ceilings(world, probes: Sequence) -> dict[str, float]:
    """Each ceiling's share of the way for ``probes`` (bench._hall.Visitor) in ``world`` (bench._hall.World)."""
    from garden import looks
    from recommend.taste import key_fields

    true = world.features @ world.segment_features.T + world.scene @ world.segment_scene.T  # (pictures, segments)
    measured = np.array([looks.measure(world.painting(n)) for n in range(len(world.search_key))])
    standard = (measured - measured.mean(0)) / np.where(measured.std(0) > 0, measured.std(0), 1.0)
    design = np.hstack([standard, key_fields(world.search_key), np.ones((len(measured), 1))])
    # A whisker of ridge: key words are collinear with the intercept (every picture has an emotion).
    projected = design @ np.linalg.solve(design.T @ design + 1e-6 * np.eye(design.shape[1]), design.T @ true)
    estimates: dict[str, Callable[[object, np.ndarray], np.ndarray]] = {
        "segment_taste": lambda probe, pictures: true[pictures, probe.segment],
        "segment_taste_and_appeal": lambda probe, pictures: true[pictures, probe.segment] + world.own[pictures],
        "ranker_design": lambda probe, pictures: projected[pictures, probe.segment],
    }
    out = {}
    for name, estimate in estimates.items():
        seen_sum = random_sum = best_sum = 0.0
        for probe in probes:
            pictures, tier = world.candidates(probe.search_key)
            chance = world.chance(probe, pictures)
            random_three, best_three = random_and_best(chance, tier, np.zeros(len(pictures), dtype=bool))
            shown = pictures[np.lexsort((-estimate(probe, pictures), tier))[:3]]  # the key's own tier first
            seen_sum += float(world.chance(probe, shown).mean())
            random_sum, best_sum = random_sum + random_three, best_sum + best_three
        out[name] = share(seen_sum - random_sum, best_sum - random_sum)
    return out


def summary(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Each ceiling's mean and worst over the runs (bench._hall.main's ``runs``)."""
    return {
        name: {"mean": round(statistics.fmean(r["ceilings"][name] for r in runs), 3), "worst": min(r["ceilings"][name] for r in runs)}
        for name in runs[0]["ceilings"]
    }


def report(rows: dict[str, dict[str, float]]) -> None:
    print("  told the hidden truth, no likes needed (bench/_hall_ceilings.py):")
    for name, row in rows.items():
        print(f"  {name:>26}: mean {row['mean']:.3f}  worst {row['worst']:.3f}")
