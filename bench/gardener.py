"""Does the gardener make the garden better? An online simulation through the kiosk views.

    .venv/bin/python bench/gardener.py                       # 8 seeds × 3 arms, 2,000 likes each, 2 runs at a time
    .venv/bin/python bench/gardener.py --only static "retirement + breeding"
    .venv/bin/python bench/gardener.py --seeds 1 --likes 1000
    .venv/bin/python bench/gardener.py --only "retirement + breeding" --policy trial_pairs=2
    .venv/bin/python bench/gardener.py --likes 1000 --rebuild-likes 0   # the counters alone, no model rebuilt
    .venv/bin/python bench/gardener.py --smoke               # breeding, 3 pairs a key, 1 seed, 60 likes (two rounds): seconds

Each run, in a child process of its own (``--jobs`` of them side by side), starts a fresh garden:
a throw-away SQLite database (bench/_inprocess.py: a copy of a migrated template, in /dev/shm
where there is one), the real kiosk views through Django's test client (middleware, views, the
serving cache, the rankers; no sockets), and the gardener in the same process (its jobs painted
by the procedural backend at once, in ``trusted`` mode) on the keys "calm" and "happy"
(GARDEN_GARDENER_FAVORITES=any). The initial garden, the same for every arm, is the painter's own:
one fresh bulk job of 8 pairs per key, promoted (fresh pictures of a key share its derived recipe
and differ in layout and horizon); then visitors arrive one at a time: POST /garden with a new id
(their row stored first as /emotion would store it: their age group, hence their segment), look
at the first three landscape images, like at most one of them (POST /like with the three on
screen) or none (POST /impression). The server learns only from those calls, over everyone and
within the visitor's segment. Every ROUND_LIKES likes the gardener runs once (as beat would): it
promotes what its last jobs made, retires what visitors pass over, and fills the keys again. Before it, every
REBUILD_LIKES likes, the recommender's model is rebuilt (as beat would: the taste model, and bred
pictures' head start from their parents; ``--rebuild-likes 0``: never, the live counters alone).

Hidden preferences live in the painter's recipe space (bench/_audience.py): each key has an
ideal recipe per visitor segment (two segments, half the visitors each), drawn per seed away from
the key's own look, and a visitor likes a picture with a chance that falls with its distance from
their segment's ideal. A picture's appeal is that chance averaged over the segments.

Scored at 0, 500, 1k, 2k and 5k likes (up to ``--likes``): 30 fresh visitors per key ask /garden;
the mean appeal of the three each would see, as a fraction of the way from the garden at 0 likes
to the best recipe in the space (the better of the key's ideals, by appeal over both segments: a
lower bound of the best, so the fractions are if anything too high by the gap; for "happy" it is
exact). Beside it, ``held_at_N``: the same fraction for the key's three best serving landscape
pictures, what the probes would score if /garden showed the best the garden holds (the gap
between the two is the ranking's); and ``seen_at_N``: the same fraction for what the simulated
visitors were shown since the previous checkpoint (the mean over every visitor of their three's
appeal). The probes are one snapshot taken just after a gardener's round, when its new children
are unjudged, and the 30 probes of a key see at most two orders (one per segment; they post no
impressions), so ``at_N`` moves a lot between seeds; ``seen_at_N`` averages thousands of screens
over the whole stretch. Each arm's figures: the mean over seeds, its standard error and the worst
seed.

Arms, on the same seeds: static (the initial garden, the gardener off), retirement only
(``bred_share`` 0: retired pictures are replaced by fresh ones) and retirement + breeding
(``bred_share`` BRED_SHARE, with ``trial_pairs`` 4: up to four bred pairs at a time above each
key's target, the weakest judged pictures making room; docs/gardener.md, "Trials"). Results:
bench/results/gardener.json.

`--smoke` runs the breeding arm for one seed, two gardener rounds of 30 likes and 3 probes in one
child process: a check that the bench works, in seconds, not a figure.

Reproducible: the same command gives the same figures and trace digest on any machine, idle or
loaded (tests/bench/test_gardener_reproducible.py). Every draw comes from the seed (visitor ids
from a stream of their own; the app's draws through config/chance.py), the app's clock
(config/clock.py) moves ``--visitor-seconds`` per visitor, and jobs and rebuilds run inline at
simulated moments; one BLAS thread and PYTHONHASHSEED 0 per run (docs/gardener.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _audience, _inprocess  # noqa: E402
from bench._gardener_runs import print_differences, print_table, run_all, summary, trace_digest  # noqa: E402

KEYS, SEGMENTS = _audience.KEYS, _audience.SEGMENTS
CHECKPOINTS = (500, 1000, 2000, 5000)
ROUND_LIKES = 100
REBUILD_LIKES = 100  # the recommender's model is rebuilt every so many likes, before the gardener's round; 0: never
PROBES = 30
VISITOR_SECONDS = 5.0  # simulated seconds between two visitors (the app's clock, config/clock.py)
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # the simulated clock's first moment (a Monday morning)
BRED_SHARE = 0.75
ARMS = {"static": None, "retirement only": 0.0, "retirement + breeding": BRED_SHARE}
POLICY = {
    "promotion_mode": "trusted",
    "target_per_key": 16,  # serving images per key: 8 landscape + portrait pairs
    "minimum_per_key": 8,
    "retire_min_impressions": 20,
    "retire_probability": 0.8,
    "daily_image_budget": 100_000,
    "pool_backlog_limit": 100_000,
    "images_per_job": 4,
    # With breeding on: up to four bred pairs at a time above the target (gardener.md, "Trials"). The
    # exploration slot (every third) shows a key's challengers ~100 times a round (~200 visitors per
    # 100 likes), enough to judge four pictures at 20 impressions; 4 did better than 1, 6 or 8 did not beat it (gardener.md).
    "trial_pairs": 4,
}


def run_one(arm: str, seed: int, likes_wanted: int) -> dict:
    """One run in this process: Django on a throw-away SQLite database, the kiosk views through the
    test client (bench/_inprocess.py: the real middleware, views, serving cache and rankers, no
    sockets), the gardener and the rebuilds in the same process, as beat would call them."""
    with _inprocess.scratch("garden-bench-gardener-") as work:
        settings = {"GARDEN_GENERATOR_BACKEND": "procedural", "GARDEN_GARDENER_FAVORITES": "any", "CELERY_TASK_ALWAYS_EAGER": "true"}
        _inprocess.set_up_django(Path(work), **settings)
        if "torch" in sys.modules:
            import torch

            torch.set_num_threads(1)
        from config import chance, clock

        # The app's own clock and draws (config/clock.py, config/chance.py): time moves with the
        # simulated visitors, and every draw of the app (exploration, generation seeds, breeding)
        # comes from the seed, so the same seed gives the same run on any machine, at any load.
        simulated = clock.SimulatedClock(START)
        clock.install(simulated)
        chance.seed(seed)
        try:
            return Simulation(arm, seed, _inprocess.ClientKiosk(), simulated).run(likes_wanted)
        finally:
            clock.install(None)
            chance.seed(None)


class Simulation:
    def __init__(self, arm: str, seed: int, kiosk: _inprocess.ClientKiosk, clock) -> None:
        from generation.backends import recipes

        self.recipes = recipes
        self.arm, self.kiosk, self.rng, self.clock = arm, kiosk, random.Random(seed), clock
        self.names = random.Random(f"visitor ids {seed}")  # its own stream: ids do not shift the other draws
        self.trace = hashlib.sha256()  # every visitor's key, segment, screen and choice: two runs compare at a glance
        self.seed = seed
        self.audience = _audience.Audience(seed)
        self.like_chance, self.appeal, self.best = self.audience.like_chance, self.audience.appeal, self.audience.best
        self.recipe_of: dict[str, object] = {}

    def recipe(self, image_key: str):
        if image_key not in self.recipe_of:
            from garden.models import Image

            image = Image.objects.with_key(image_key).get()
            stored = (image.parameters or {}).get("recipe")
            self.recipe_of[image_key] = (
                self.recipes.Recipe.from_dict(stored) if stored else self.recipes.recipe_for(image.emotion, image.favorite, image.seed or 0)
            )
        return self.recipe_of[image_key]

    def new_id(self, prefix: str) -> str:
        """A visitor id drawn from the seed (a UUID's form, as kiosks send)."""
        return f"{prefix}-{uuid.UUID(int=self.names.getrandbits(128), version=4)}"

    @staticmethod
    def arrive(visitor: str, segment: str) -> None:
        """The visitor's row, as /emotion stores it (no photo here): their generation makes the
        segment their likes and impressions are counted in."""
        from garden.models import Visitor

        Visitor.objects.create(id=visitor, age_group=segment)

    def rebuild(self) -> None:
        """The recommender's model from the likes so far, as beat rebuilds it (every
        RECOMMEND_REBUILD_MINUTES): its taste model and bred pictures' head start (recommend.lineage)."""
        from recommend import training

        training.rebuild()

    def tend(self) -> None:
        from gardener import services

        services.tend(seed=self.rng.getrandbits(32))

    def setup(self) -> None:
        """The initial garden, the same for every arm: the painter's own fresh pictures, 8 pairs per
        key (a fresh bulk job, promoted), then the arm's policy."""
        from garden import services as garden_services
        from gardener.models import EmotionPolicy, GardenerPolicy
        from generation import services as generation_services
        from generation.requests import JobRequest

        for key in KEYS:
            request = JobRequest(kind="bulk", emotion=key, count=POLICY["target_per_key"] // 2, backend="procedural", seed=self.seed * 1000)
            job = generation_services.create_job(request=request)
            job.refresh_from_db()
            assert job.status == "succeeded", job.error
            for image in job.images.all():
                garden_services.promote_image(image=image)
        if ARMS[self.arm] is not None:
            GardenerPolicy.objects.update_or_create(pk=1, defaults={**POLICY, "enabled": False, "bred_share": ARMS[self.arm]})
            for key in KEYS:
                EmotionPolicy.objects.create(emotion=key, enabled=True)

    def score(self) -> dict[str, float]:
        scores = {}
        for key in KEYS:
            seen = []
            for _ in range(PROBES):
                segment = self.rng.choice(SEGMENTS)
                shown = self.kiosk.top_three(self.new_id("probe"), key, segment)
                seen.append(statistics.fmean(self.appeal(self.recipe(k), key) for k in shown))
                self.trace.update(json.dumps(["probe", key, segment, shown]).encode())
            scores[key] = statistics.fmean(seen)
        return scores

    def held(self) -> dict[str, float]:
        """Per key, the mean appeal of its three best serving landscape pictures: what the probes would
        score if the ranking showed the best the garden holds (the garden's part of the score)."""
        from garden.models import Image

        out = {}
        for key in KEYS:
            serving = Image.objects.serving().filter(emotion=key, favorite="", orientation=Image.Orientation.LANDSCAPE)
            appeals = sorted((self.appeal(self.recipe(k), key) for k in serving.values_list("key", flat=True)), reverse=True)
            out[key] = statistics.fmean(appeals[:3])
        return out

    def run(self, likes_wanted: int) -> dict:
        started = time.perf_counter()
        self.setup()
        initial = self.score()
        result: dict = {"arm": self.arm, "seed": self.seed, "initial_appeal": initial, "best_appeal": {k: self.best(k) for k in KEYS}}

        def fraction(scores: dict[str, float]) -> float:
            return statistics.fmean((scores[k] - initial[k]) / (self.best(k) - initial[k]) for k in KEYS)

        result["at_0"] = 0.0
        likes = visitors = 0
        seen: list[float] = []  # each visitor since the last checkpoint: their three's mean appeal, as a fraction of their key's way
        while likes < likes_wanted:
            self.clock.advance(VISITOR_SECONDS)
            visitor, key, segment = self.new_id("v"), self.rng.choice(KEYS), self.rng.choice(SEGMENTS)
            self.arrive(visitor, segment)
            shown = self.kiosk.top_three(visitor, key, segment)
            visitors += 1
            appeal = statistics.fmean(self.appeal(self.recipe(k), key) for k in shown)
            seen.append((appeal - initial[key]) / (self.best(key) - initial[key]))
            liked = next(
                (k for k in self.rng.sample(shown, len(shown)) if self.rng.random() < self.like_chance(self.recipe(k), key, segment)), None
            )
            self.trace.update(json.dumps([key, segment, shown, liked]).encode())
            if liked is None:
                self.kiosk.post("/impression", {"id": visitor, "impression": shown})
                continue
            status, body = self.kiosk.post("/like", {"id": visitor, "itemId": liked, "impression": shown})
            assert status == 200, body[:300]
            likes += 1
            if REBUILD_LIKES and likes % REBUILD_LIKES == 0:
                self.rebuild()
            if likes % ROUND_LIKES == 0 and ARMS[self.arm] is not None:
                self.tend()
            if likes in CHECKPOINTS:
                scores = self.score()
                result[f"at_{likes}"] = round(fraction(scores), 3)
                result[f"appeal_at_{likes}"] = scores
                result[f"held_at_{likes}"] = round(fraction(self.held()), 3)  # the garden's best three, shown
                result[f"seen_at_{likes}"] = round(statistics.fmean(seen), 3)  # what visitors were shown since the last checkpoint
                seen = []
                print(
                    f"  {self.arm} seed {self.seed}: {likes} likes, {visitors} visitors, {result[f'at_{likes}']:+.3f}"
                    f" (the garden's best three {result[f'held_at_{likes}']:+.3f})",
                    file=sys.stderr,
                    flush=True,
                )
        summary = self.garden_summary()
        result.update(visitors=visitors, seconds=round(time.perf_counter() - started, 1), garden=summary, trace=self.trace.hexdigest()[:16])
        return result

    def garden_summary(self) -> dict:
        from garden.models import Image
        from gardener.models import GardenerAction

        serving = Image.objects.serving()
        generations = [((image.parameters or {}).get("lineage") or {}).get("generation", 0) for image in serving.only("parameters")]
        kinds = {kind: GardenerAction.objects.filter(kind=kind).count() for kind in GardenerAction.Kind.values}
        from recommend.models import ImageStat

        stats = [
            (image.key.rsplit("_", 1)[-1], impressions, likes, round(self.appeal(self.recipe(image.key), image.emotion), 3))
            for image, impressions, likes in (
                (stat.image, stat.impressions, stat.likes)
                for stat in ImageStat.objects.filter(segment="*", image__in=serving).select_related("image")
            )
        ]
        return {"serving": serving.count(), "max_generation_serving": max(generations, default=0), "actions": kinds, "stats": stats}


def parse_overrides(pairs: list[str]) -> dict:
    """``NAME=VALUE`` pairs for POLICY: only its own fields, values typed like the defaults."""
    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in POLICY or not value:
            raise SystemExit(f"--policy {pair!r}: expected NAME=VALUE with NAME one of {', '.join(POLICY)}")
        overrides[name] = type(POLICY[name])(value) if not isinstance(POLICY[name], str) else value
    return overrides


def child_command(arm: str, seed: int, args: argparse.Namespace) -> list[str]:
    """The command line of one run in a child process (Django is set up once per process, on that
    run's database)."""
    return [
        sys.executable,
        __file__,
        "--one",
        arm,
        str(seed),
        "--likes",
        str(args.likes),
        "--rebuild-likes",
        str(REBUILD_LIKES),
        "--round-likes",
        str(ROUND_LIKES),
        "--visitor-seconds",
        str(VISITOR_SECONDS),
        *(["--smoke"] if args.smoke else []),
        "--policy",
        *args.policy,
    ]


def main() -> int:
    global CHECKPOINTS, PROBES, ROUND_LIKES, REBUILD_LIKES, VISITOR_SECONDS  # --smoke makes them smaller
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8, help="runs per arm (seeds first-seed … first-seed + n − 1, the same for every arm)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--likes", type=int, default=2000, help="likes per run; scored at each of 500, 1,000, 2,000, 5,000 up to it")
    parser.add_argument("--only", nargs="*", choices=list(ARMS))
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side (child processes)")
    parser.add_argument("--out", default="gardener.json", help="results file under bench/results/")
    parser.add_argument(
        "--policy",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override POLICY fields for this run (numbers as numbers), e.g. --policy trial_pairs=2 retire_probability=0.7",
    )
    parser.add_argument("--round-likes", type=int, default=ROUND_LIKES, help="run the gardener every N likes (beat's 10 minutes)")
    parser.add_argument(
        "--rebuild-likes",
        type=int,
        default=REBUILD_LIKES,
        help="rebuild the recommender's model every N likes, before the gardener's round (0: never, the counters alone)",
    )
    parser.add_argument(
        "--visitor-seconds",
        type=float,
        default=VISITOR_SECONDS,
        help="simulated seconds between two visitors: the app's clock in the run (its rebuild, recent and patience windows)",
    )
    parser.add_argument(
        "--against",
        help="a results file under bench/results/ (an earlier commit's run): each arm's paired difference from it, shared seeds",
    )
    parser.add_argument("--one", nargs=2, metavar=("ARM", "SEED"), help=argparse.SUPPRESS)  # a run in a child process
    parser.add_argument("--smoke", action="store_true", help="breeding, 1 seed, two gardener rounds, 3 probes: the whole path in seconds")
    args = parser.parse_args()
    POLICY.update(parse_overrides(args.policy))
    REBUILD_LIKES, ROUND_LIKES, VISITOR_SECONDS = args.rebuild_likes, args.round_likes, args.visitor_seconds
    if args.smoke:  # in the parent and in its child (--one … --smoke)
        ROUND_LIKES, PROBES = 30, 3
        REBUILD_LIKES = ROUND_LIKES if REBUILD_LIKES else 0
        POLICY.update(target_per_key=6, minimum_per_key=3, trial_pairs=1, retire_min_impressions=3, images_per_job=2)
        CHECKPOINTS = (ROUND_LIKES, 2 * ROUND_LIKES)  # two rounds: the second harvests what the first bred
        args.seeds, args.first_seed, args.only, args.likes, args.jobs = 1, 0, ["retirement + breeding"], 2 * ROUND_LIKES, 1
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.likes)))
        return 0

    results: dict = {
        "keys": list(KEYS),
        "likes": args.likes,
        "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
        "round_likes": ROUND_LIKES,
        "rebuild_likes": REBUILD_LIKES,
        "visitor_seconds": VISITOR_SECONDS,
        "lineage_weight": float(os.environ.get("GARDEN_RECOMMEND_LINEAGE_WEIGHT", os.environ.get("RECOMMEND_LINEAGE_WEIGHT", "0.5"))),
        "policy": POLICY,
        "arms": {},
    }
    reached = [n for n in CHECKPOINTS if n <= args.likes]
    points = ["at_0", *(f"at_{n}" for n in reached), *(f"{p}_{n}" for p in ("held_at", "seen_at") for n in reached)]
    arms = [arm for arm in ARMS if not args.only or arm in args.only]
    done = run_all([(arm, seed) for arm in arms for seed in results["seeds"]], args.jobs, lambda arm, seed: child_command(arm, seed, args))
    for arm in arms:
        results["arms"][arm] = summary([done[(arm, seed)] for seed in results["seeds"]], points)
    if not args.smoke:
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / args.out).write_text(json.dumps(results, indent=2))
    print_table(results["arms"], reached)
    earlier = json.loads((ROOT / "bench" / "results" / args.against).read_text())["arms"] if args.against else None
    print_differences(results["arms"], arms, reached, earlier=earlier, earlier_name=args.against or "")
    print(f"\ntrace digest (every run's screens, choices and probes, in order of arm and seed): {trace_digest(results['arms'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
