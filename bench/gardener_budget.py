"""How far can breeding take a garden on what visitors' impressions tell? An offline model of the
gardener's search on bench/gardener.py's hidden audience (bench/_audience.py).

    .venv/bin/python bench/gardener_budget.py                       # the table below, seeds 0–15, both keys: ~2 min
    .venv/bin/python bench/gardener_budget.py --children 90 --impressions 20 --exploit 3700
    .venv/bin/python bench/gardener_budget.py --smoke               # one key, one seed, three children: seconds

Each key starts from TARGET of the painter's fresh pictures (bench/gardener.py's initial garden)
and grows one child at a time, bred by the gardener's own code (gardener.breeding.breed: parents by
Thompson sampling, the operators, the surrogate's pick among its proposals). Each child is judged
on ``impressions`` impressions (likes drawn at its appeal; 0: its true appeal, as if likes were
noise-free); then the two best serving pictures by posterior mean (Beta(1 + likes, 1 + misses))
share ``exploit`` impressions over the run, as /garden's first places do; and while the garden is
above TARGET its weakest serving picture by posterior mean leaves. The score is bench/gardener.py's
``held_at_N``: the mean appeal of the three best serving pictures, as a fraction of the way from
the initial garden's mean appeal to the best recipe. Mean ± standard error over seeds × keys, and
the worst.

What a run of bench/gardener.py spends by 2,000 likes, per key: about 27 children judged on ~20
impressions and some 3,700 impressions in the first two places (~1,850 visitors of three places),
the row "30 children, 20 impressions, 3,700 to the best two". Left out: the kiosk views, the taste
model and the order it makes, rounds, twins, segments' own counts. The question it answers: is it
the number of children, or what each one's impressions can tell, that holds the garden back?
Results: bench/results/gardener_budget.json.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _audience  # noqa: E402

TARGET = 8  # landscape pictures per key (bench/gardener.py's 16 serving images are 8 pairs)
EXPLOIT_PLACES = 2  # the first places of a screen of three: the third explores
# (children, impressions per child, impressions to the best two over the run)
ROWS = (
    (30, 0, 0),
    (60, 0, 0),
    (30, 20, 0),
    (90, 20, 0),
    (30, 60, 0),
    (30, 20, 3700),
    (90, 20, 3700),
    (30, 60, 3700),
)


@dataclass
class Picture:
    recipe: object
    appeal: float
    impressions: int = 0
    likes: int = 0
    serving: bool = True

    @property
    def mean(self) -> float:
        """The posterior mean of its like-rate, Beta(1 + likes, 1 + misses)."""
        return (self.likes + 1) / (self.impressions + 2)


class Garden:
    def __init__(self, audience: _audience.Audience, key: str, seed: int) -> None:
        from generation.backends import recipes

        self.audience, self.key = audience, key
        self.rng = random.Random(f"{seed}-{key}")
        fresh = (recipes.recipe_for(key, "", seed * 1000 + i) for i in range(TARGET))
        self.pictures = [self.picture(recipe) for recipe in fresh]
        self.initial = statistics.fmean(p.appeal for p in self.pictures)
        self.best = audience.best(key)

    def picture(self, recipe) -> Picture:
        return Picture(recipe, self.audience.appeal(recipe, self.key))

    def judge(self, picture: Picture, impressions: int) -> None:
        if impressions == 0:  # the truth: as many impressions as make the posterior mean the appeal
            picture.impressions, picture.likes = 1_000_000, round(picture.appeal * 1_000_000)
            return
        picture.impressions += impressions
        picture.likes += sum(self.rng.random() < picture.appeal for _ in range(impressions))

    def serving(self) -> list[Picture]:
        return [p for p in self.pictures if p.serving]

    def grow(self, children: int, impressions: int, exploit: int) -> float:
        from gardener import breeding

        for picture in self.pictures:
            self.judge(picture, impressions)
        share = exploit // max(children * EXPLOIT_PLACES, 1)
        by_mean = operator.attrgetter("mean")
        for _ in range(children):
            candidates = [breeding.Candidate(n, p.recipe, p.impressions, p.likes, 0, p.serving) for n, p in enumerate(self.pictures)]
            child = self.picture(breeding.breed(candidates, 1, self.rng)[0].recipe)
            self.judge(child, impressions)
            self.pictures.append(child)
            if share:
                for best in sorted(self.serving(), key=by_mean, reverse=True)[:EXPLOIT_PLACES]:
                    self.judge(best, share)
            serving = self.serving()
            if len(serving) > TARGET:
                min(serving, key=by_mean).serving = False
        top = sorted((p.appeal for p in self.serving()), reverse=True)[:3]
        return (statistics.fmean(top) - self.initial) / (self.best - self.initial)


def row(children: int, impressions: int, exploit: int, seeds: range, keys: tuple[str, ...]) -> dict:
    values = [Garden(_audience.Audience(seed), key, seed).grow(children, impressions, exploit) for seed in seeds for key in keys]
    return {
        "children": children,
        "impressions": impressions,
        "exploit": exploit,
        "held": round(statistics.fmean(values), 3),
        "se": round(statistics.stdev(values) / len(values) ** 0.5, 3) if len(values) > 1 else None,
        "worst": round(min(values), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--children", type=int, help="one row: children per key")
    parser.add_argument("--impressions", type=int, default=20, help="one row: impressions each child is judged on (0: the truth)")
    parser.add_argument("--exploit", type=int, default=0, help="one row: impressions the best two share over the run")
    parser.add_argument("--smoke", action="store_true", help="one key, one seed, three children: the whole path in seconds")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    seeds, keys = range(args.seeds), _audience.KEYS
    rows = ROWS if args.children is None else ((args.children, args.impressions, args.exploit),)
    if args.smoke:
        seeds, keys, rows = range(1), keys[:1], ((3, 20, 60),)
    results = []
    print("children  impressions each  to the best two   the garden's best three: mean ± standard error (worst)")
    for children, impressions, exploit in rows:
        found = row(children, impressions, exploit, seeds, keys)
        results.append(found)
        judged = impressions or "the truth"
        se = "nan" if found["se"] is None else f"{found['se']:.3f}"
        print(f"{children:>8}  {judged:>16}  {exploit:>15,}   {found['held']:+.3f} ± {se} ({found['worst']:+.3f})", flush=True)
    if not args.smoke:
        out = ROOT / "bench" / "results" / "gardener_budget.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"seeds": list(seeds), "keys": list(keys), "target": TARGET, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
