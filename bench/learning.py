"""How fast /garden learns from its first likes: an online simulation over HTTP.

    .venv/bin/python bench/learning.py                      # 3 runs per strategy, 1,000 likes each
    .venv/bin/python bench/learning.py --runs 1 --likes 500
    .venv/bin/python bench/learning.py --smoke              # both scenarios, tiny: seconds

Each run starts a fresh garden (a throw-away SQLite database and a real gunicorn): 3 search keys
of 15 landscape images, each image with a hidden appeal (the chance that a visitor who sees it
likes it, drawn once per run). Visitors arrive one at a time: POST /garden with a new visitor id,
look at the first three images, like at most one of them by their appeals (POST /like with the
three on screen) or none (POST /impression). The server learns only from those calls, as it goes:
no offline split, no rebuild.

After 250, 500 and 1,000 likes it asks /garden for 30 fresh visitors per search key and scores the
top three they would see: the mean hidden appeal of those three as a fraction of the way from a
random three (the key's mean appeal) to the oracle's three (its three best). Compared strategies:
RECOMMEND_EXPLORATION=thompson (the default), =slot (the fixed exploration slot: the ranker as it
was), =none (posterior means only) and the popularity ranker. Results: bench/results/learning.json.

`--in-process` runs the same visitors against a replica of the anonymous visitor's ranking
(recommend.ranking on the counts the server would hold, default priors; no database, no HTTP):
about a second a run instead of minutes, to compare exploration rules over many seeds before
measuring the chosen one over HTTP. Its figures are labelled as the replica's.

`--scenario hall` is a garden that looks like a hall (bench/_hall.py: every emotion and favorite,
about 2,000 pictures, visitor segments whose taste turns on picture features, visits of several
screens), driven through the real kiosk views in process, 8 seeds, two at a time:

    .venv/bin/python bench/learning.py --scenario hall --seeds 8

`--smoke` runs both scenarios tiny (the hall in process, then thompson over HTTP: 1 run, 20 likes,
3 probes) in seconds: a check that the bench works, not a figure; it writes no results.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from recommend import ranking  # noqa: E402
from testkit.servers import gunicorn  # noqa: E402

KEYS = ("happy", "calm", "sad/spring,sunny,day")
PER_KEY = 15
CHECKPOINTS = (250, 500, 1000)
PROBES = 30  # fresh visitors per search key at each checkpoint
STRATEGIES = {
    "thompson": {"RECOMMEND_EXPLORATION": "thompson"},
    "slot (before)": {"RECOMMEND_EXPLORATION": "slot"},
    "none": {"RECOMMEND_EXPLORATION": "none"},
    "popularity": {"RECOMMEND_BACKEND": "popularity"},
}
SETUP = """
from garden import keys
from garden.services import create_image
from generation.imagefile import encode_jpeg
from PIL import Image
content = encode_jpeg(Image.new("RGB", (16, 10), (40, 160, 90)), {})
for search_key in %r:
    emotion, _, favorite = search_key.partition("/")
    for index in range(%d):
        key = keys.build_key(prefix="emotions", emotion=emotion, favorite=favorite, timestr="20260101-000000-%%06x" %% index,
                             index=index, orientation="h")
        create_image(key=key, content=content, width=16, height=10)
"""


def key_of(url: str) -> str:
    return url[url.rindex("emotions") :]


# A garden: (visitor, search key) → the keys of the first three images; and the feedback calls.
class Garden:
    keys: dict[str, list[str]]  # search key → its images' keys

    def top_three(self, visitor: str, search_key: str) -> list[str]:
        raise NotImplementedError

    def feedback(self, visitor: str, shown: list[str], liked: str | None) -> None:
        raise NotImplementedError


class HttpGarden(Garden):
    """The real thing: /gardenfromDB, /garden, /like and /impression on a gunicorn of its own."""

    def __init__(self, server) -> None:
        self.server = server
        server.manage("shell", "-c", SETUP % (KEYS, PER_KEY))
        self.keys = {}
        for search_key in KEYS:
            listing = json.loads(server.call("/gardenfromDB", json.dumps({"emotion": search_key}).encode())[1])
            self.keys[search_key] = [key_of(item["url"]) for item in listing["landscape"]]

    def top_three(self, visitor: str, search_key: str) -> list[str]:
        status, body, _ = self.server.call("/garden", json.dumps({"id": visitor, "emotion": search_key}).encode())
        assert status == 200, body[:200]
        return [key_of(item["url"]) for item in json.loads(body)["landscape"]][:3]

    def feedback(self, visitor: str, shown: list[str], liked: str | None) -> None:
        if liked is None:
            self.server.call("/impression", json.dumps({"id": visitor, "impression": shown}).encode())
        else:
            self.server.call("/like", json.dumps({"id": visitor, "itemId": liked, "impression": shown}).encode())


class ReplicaGarden(Garden):
    """The same ranking in process: everyone's counts per image and per key, as the server keeps them."""

    def __init__(self, challenger: Callable | None) -> None:
        self.keys = {k: [f"emotions/{k}/img{n:02d}h" for n in range(PER_KEY)] for k in KEYS}
        self.shown = {k: np.zeros(PER_KEY) for k in KEYS}
        self.liked = {k: np.zeros(PER_KEY) for k in KEYS}
        self.challenger = challenger
        self.rng = np.random.default_rng()

    def top_three(self, visitor: str, search_key: str) -> list[str]:
        counts = ranking.CandidateCounts.zeros(PER_KEY)
        counts.n_all[:], counts.l_all[:] = self.shown[search_key], self.liked[search_key]
        counts.n_key[:], counts.l_key[:] = counts.n_all.sum(), counts.l_all.sum()
        params = ranking.Params()
        none = np.zeros(PER_KEY, dtype=bool)
        landscape, _ = ranking.arrange(
            portrait=none,
            tier=np.zeros(PER_KEY, dtype=np.int64),
            score=ranking.score(counts, params),
            demoted=none,
            explore_every=3,
            challenge=self.challenger(counts, params, self.rng) if self.challenger else None,
        )
        return [self.keys[search_key][n] for n in landscape[:3]]

    def feedback(self, visitor: str, shown: list[str], liked: str | None) -> None:
        search_key = next(k for k in KEYS if shown[0] in self.keys[k])
        for key in shown:
            self.shown[search_key][self.keys[search_key].index(key)] += 1
        if liked is not None:
            self.liked[search_key][self.keys[search_key].index(liked)] += 1


REPLICAS: dict[str, Callable | None] = {
    "thompson": ranking.thompson_challenger,
    "slot (before)": lambda counts, params, rng: ranking.least_shown_challenger(counts.n_all, 30),
    "none": None,
}


@contextmanager
def garden_for(name: str, *, in_process: bool, work: Path) -> Iterator[Garden]:
    if in_process:
        yield ReplicaGarden(REPLICAS[name])
        return
    # No compressed static files: the simulation loads no page, only the kiosk API.
    settings = {"GARDEN_KIOSK_RATE": "10000000/minute", **STRATEGIES[name]}
    with gunicorn(work, workers=1, threads=4, seed=False, compress_static=False, **settings) as server:
        yield HttpGarden(server)


def run_once(garden: Garden, *, seed: int, likes_wanted: int) -> dict:
    rng = random.Random(seed)
    appeal = {key: rng.betavariate(1.2, 4.0) for k in KEYS for key in garden.keys[k]}  # most images so-so, a few loved

    def score() -> float:
        fractions = []
        for search_key in KEYS:
            values = sorted((appeal[k] for k in garden.keys[search_key]), reverse=True)
            random_three, oracle = statistics.fmean(values), statistics.fmean(values[:3])
            seen = [statistics.fmean(appeal[k] for k in garden.top_three(f"probe-{uuid.uuid4()}", search_key)) for _ in range(PROBES)]
            fractions.append((statistics.fmean(seen) - random_three) / (oracle - random_three))
        return round(statistics.fmean(fractions), 3)

    result = {"at_0": score()}
    likes = visitors = 0
    while likes < likes_wanted:
        visitor, search_key = f"v-{uuid.uuid4()}", rng.choice(KEYS)
        shown = garden.top_three(visitor, search_key)
        visitors += 1
        liked = next((key for key in rng.sample(shown, len(shown)) if rng.random() < appeal[key]), None)
        garden.feedback(visitor, shown, liked)
        if liked is not None:
            likes += 1
            if likes in CHECKPOINTS:
                result[f"at_{likes}"] = score()
    result["visitors"] = visitors
    return result


def main() -> int:
    global CHECKPOINTS, PROBES  # --smoke makes both smaller
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("keys", "hall"), default="keys", help="keys: 3 keys of 15 images (the default); hall")
    parser.add_argument("--runs", "--seeds", type=int, help="runs per strategy (different hidden appeals and visitors); 3, hall 8")
    parser.add_argument("--likes", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--only", nargs="*", choices=list(STRATEGIES))
    parser.add_argument("--first-seed", type=int, default=0, help="runs use seeds first-seed, first-seed + 1, …")
    parser.add_argument("--in-process", action="store_true", help="the ranking's replica instead of HTTP (no popularity)")
    parser.add_argument("--jobs", type=int, default=2, help="hall: seeds run side by side")
    parser.add_argument(
        "--smoke", action="store_true", help="both scenarios, tiny, in seconds (keys: thompson, 1 run, 20 likes, HTTP); no results"
    )
    parser.add_argument("--hall-one", nargs=2, metavar=("SEED", "SCALE"), help=argparse.SUPPRESS)  # a hall run in a child process
    args = parser.parse_args()
    if args.hall_one:
        from bench import _hall

        print(json.dumps(_hall.run_one(int(args.hall_one[0]), args.hall_one[1], args.likes)))
        return 0
    if args.smoke:
        from bench import _hall

        _hall.main(seeds=[0], likes=_hall.SMOKE_LIKES, jobs=1, scale="smoke", write=False)
        CHECKPOINTS, PROBES = (20,), 3  # then the keys scenario over HTTP, tiny
        args.scenario, args.runs, args.likes, args.only = "keys", 1, 20, ["thompson"]
    if args.scenario == "hall":
        from bench import _hall

        if args.only or args.in_process:
            parser.error("--scenario hall measures the served ranker as configured: no --only or --in-process")

        seeds = list(range(args.first_seed, args.first_seed + (args.runs or 8)))
        _hall.main(seeds=seeds, likes=args.likes, jobs=args.jobs, scale="hall", write=True)
        return 0
    args.runs = args.runs or 3
    mode = "in-process replica" if args.in_process else "HTTP"
    results: dict = {"mode": mode, "keys": list(KEYS), "images_per_key": PER_KEY, "runs": args.runs, "strategies": {}}
    for name in STRATEGIES:
        if (args.only and name not in args.only) or (args.in_process and name not in REPLICAS):
            continue
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.runs):  # the same seeds for every strategy
            with (
                tempfile.TemporaryDirectory(prefix="garden-bench-learning-") as work,
                garden_for(name, in_process=args.in_process, work=Path(work)) as garden,
            ):
                runs.append(run_once(garden, seed=seed, likes_wanted=args.likes))
            print(f"{name} run {seed}: {runs[-1]}", flush=True)
        points = [f"at_{n}" for n in (0, *CHECKPOINTS) if n <= args.likes]
        spread = {f"{p}_se": round(statistics.stdev(r[p] for r in runs) / len(runs) ** 0.5, 3) for p in points if len(runs) > 1}
        results["strategies"][name] = {"runs": runs, **{p: round(statistics.fmean(r[p] for r in runs), 3) for p in points}, **spread}
    if not args.smoke:
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / ("learning-replica.json" if args.in_process else "learning.json")).write_text(json.dumps(results, indent=2))
    print(f"\n{mode}: share of the way from a random three to the best three (mean ± standard error over runs):")
    columns = ("at_0", *(f"at_{n}" for n in CHECKPOINTS))
    print(f"{'strategy':<16}" + "".join(f"{p:>16}" for p in columns))
    for name, row in results["strategies"].items():
        cells = (f"{row.get(p, float('nan')):.3f} ± {row.get(f'{p}_se', float('nan')):.3f}" for p in columns)
        print(f"{name:<16}" + "".join(f"{cell:>16}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
