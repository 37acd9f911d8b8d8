"""The hall scenario of bench/learning.py: a garden that looks like a hall.

The garden (drawn per seed): every emotion × every kiosk favorite (garden.keys: "Any" and the 64
season × weather × time words), about 2,000 landscape pictures. Each emotion's "Any" key holds
40 pictures (Scale.any_per_emotion); 1,700 more are spread over the 512 favorite keys in
proportion to how often visitors ask for them (tempered), so popular keys hold a dozen and many
hold none or a few (then /garden adds the emotion's other pictures as its fallback tier). Each
picture has a scene (season, weather, time: its favorite's, or drawn for an "Any" picture) and
four features (lightness, warmth, saturation, contrast) drawn around its scene's and emotion's
look; they are painted into its pixels (a sky band and a ground band, bench-sized JPEG), so a
ranker that reads pictures could see them.

Visitors: 14 segments (garden.Visitor's generations × two genders, weighted as a hall's
audience). A segment's taste is a weight per feature and per scene word, shared by every key; a
visitor adds their own noise to the feature weights; a picture adds a little appeal of its own.
The chance that a visitor likes a picture on screen is sigmoid(BASE + features·(segment's +
visitor's weights) + scene·segment's weights + picture's own). Each visitor's row is stored as
/emotion would store it (generation, gender, hence segment). A visit: a search key drawn as
visitors ask (emotion, "Any" or a favorite by popularity), 1 + Geometric(0.4) screens (at most
8); on each screen the visitor asks /garden, looks at the first three landscape pictures, and
likes at most one (in random order, each with its chance) with /like, or sends /impression. The
model is rebuilt every 100 likes (as beat would, recommend.training.rebuild).

Score: 200 probe visitors (segment, visitor weights, search key drawn as above, the same at
every checkpoint, a fresh id each time) ask /garden; the mean chance that the probe likes each of
the three it would see, as a share of the way from a random three (0) to its best three (1),
summed over probes before dividing. Random and best keep /garden's rules: the key's own pictures
before the fallback tier, pictures already shown to the visitor after both. Each run also scores
rankers told the hidden truth on the same probes (bench/_hall_ceilings.py): what a ranker that
knows each segment's true taste reaches, and what the taste model's form could reach at best.

Within a visit (after the last like): 150 probes each ask /garden once; twin A likes the
picture of those three it likes most, twin B (same segment, a new id) reports the same three as
an impression; both ask /garden again. The figure is how much closer to the probe's best three
(among what it has not seen) A's second screen is than B's: 1 − gap_A / gap_B, summed over pairs.
"""

from __future__ import annotations

import colorsys
import io
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import _hall_ceilings
from bench._hall_scoring import random_and_best, share
from bench.harness import results

ROOT = Path(__file__).resolve().parent.parent
EMOTION_SHARE = {"happy": 0.24, "calm": 0.18, "surprised": 0.14, "sad": 0.12, "confused": 0.09, "angry": 0.08, "fear": 0.08}
EMOTION_SHARE["disgusted"] = 1 - sum(EMOTION_SHARE.values())
GENERATION_SHARE = {"toddler": 0.03, "child": 0.12, "teenager": 0.12, "young-adult": 0.2, "adult": 0.28, "middle-age": 0.15, "elder": 0.1}
GENDERS = ("male", "female")
PART_SHARES = ((0.3, 0.3, 0.25, 0.15), (0.4, 0.25, 0.2, 0.15), (0.45, 0.3, 0.1, 0.15))  # season, weather, time (garden.keys order)
ANY_SHARE = 0.35  # visitors who pick "Any"
DIM, BASE = 4, -2.2  # features: lightness, warmth, saturation, contrast
SMOKE_LIKES = 12
MAX_SCREENS = 8
# Each scene word's pull on the features (lightness, warmth, saturation, contrast).
SCENE_LOOK = np.array(
    [
        [0.3, 0.0, 0.8, 0.2],  # spring
        [0.6, 0.8, 0.5, 0.4],  # summer
        [0.0, 1.0, 0.2, 0.0],  # autumn
        [0.4, -1.0, -0.8, -0.3],  # winter
        [0.8, 0.3, 0.4, 0.6],  # sunny
        [0.0, -0.2, -0.6, -0.8],  # cloudy
        [-0.6, -0.4, -0.2, -0.3],  # rainy
        [1.0, -0.6, -0.7, -0.4],  # snowy
        [0.6, 0.0, 0.2, 0.3],  # day
        [0.0, 0.9, 0.6, 0.5],  # sunset
        [-0.3, 0.3, -0.2, -0.2],  # the early dawn
        [-1.2, -0.5, -0.3, 0.6],  # the middle of the night
    ]
)


@dataclass(frozen=True)
class Scale:
    any_per_emotion: int
    favorite_pictures: int
    probes: int
    pairs: int
    checkpoints: tuple[int, ...]  # likes after which the probes score
    rebuild_likes: int  # the model is rebuilt every so many likes


# The smoke garden is tiny, but it passes a checkpoint and two rebuilds, as a hall run does.
SCALES = {"hall": Scale(40, 1700, 200, 150, (250, 500, 1000, 2000), 100), "smoke": Scale(3, 40, 6, 3, (6,), 5)}


@dataclass
class Visitor:
    segment: int
    weights: np.ndarray  # per feature: the segment's plus the visitor's own
    search_key: str


class World:
    """The hidden truth of one seed: pictures, their features and scenes, the segments' tastes."""

    def __init__(self, seed: int, scale: Scale) -> None:
        from garden import keys

        rng = np.random.default_rng([seed, 0])
        self.emotions = keys.EMOTIONS
        words = [part for _, part in keys.FAVORITE_PARTS]
        self.favorites = [(s, w, t) for s in range(4) for w in range(4) for t in range(4)]
        self.favorite_words = [",".join((words[0][s], words[1][w], words[2][t])) for s, w, t in self.favorites]
        self.favorite_share = np.array([PART_SHARES[0][s] * PART_SHARES[1][w] * PART_SHARES[2][t] for s, w, t in self.favorites])
        self.emotion_share = np.array([EMOTION_SHARE[e] for e in self.emotions])
        emotion_look = rng.normal(0, 0.3, (len(self.emotions), DIM))
        # Pictures: (emotion, favorite index or -1 for "Any", scene words).
        rows: list[tuple[int, int, tuple[int, int, int]]] = []
        for e in range(len(self.emotions)):
            rows += [(e, -1, tuple(int(rng.choice(4, p=PART_SHARES[part])) for part in range(3))) for _ in range(scale.any_per_emotion)]  # type: ignore[misc]
        weight = np.sqrt(np.outer(self.emotion_share, self.favorite_share)).ravel()
        counts = rng.multinomial(scale.favorite_pictures, weight / weight.sum())
        for cell in np.flatnonzero(counts):
            e, f = divmod(int(cell), len(self.favorites))
            rows += [(e, f, self.favorites[f])] * int(counts[cell])
        self.emotion = np.array([r[0] for r in rows])
        self.search_key = [self.emotions[e] + ("" if f < 0 else "/" + self.favorite_words[f]) for e, f, _ in rows]
        self.scene = np.zeros((len(rows), 12))
        for n, (_, _, (s, w, t)) in enumerate(rows):
            self.scene[n, [s, 4 + w, 8 + t]] = 1
        self.features = self.scene @ SCENE_LOOK + emotion_look[self.emotion] + rng.normal(0, 0.6, (len(rows), DIM))
        self.own = rng.normal(0, 0.35, len(rows))  # each picture's appeal of its own
        self.segments = [(g, s) for g in GENERATION_SHARE for s in GENDERS]
        self.segment_share = np.array([GENERATION_SHARE[g] / len(GENDERS) for g, _ in self.segments])
        self.segment_features = rng.normal(0, 0.7, (len(self.segments), DIM))
        self.segment_scene = rng.normal(0, 0.5, (len(self.segments), 12))
        self.keys: list[str] = []  # storage keys, set by store()

    def visitor(self, rng: np.random.Generator) -> Visitor:
        segment = int(rng.choice(len(self.segments), p=self.segment_share))
        emotion = self.emotions[int(rng.choice(len(self.emotions), p=self.emotion_share))]
        favorite = "" if rng.random() < ANY_SHARE else self.favorite_words[int(rng.choice(len(self.favorites), p=self.favorite_share))]
        weights = self.segment_features[segment] + rng.normal(0, 0.35, DIM)
        return Visitor(segment, weights, emotion + ("/" + favorite if favorite else ""))

    def chance(self, visitor: Visitor, pictures: np.ndarray) -> np.ndarray:
        """The chance that ``visitor`` likes each of ``pictures`` when it is on screen."""
        logit = BASE + self.features[pictures] @ visitor.weights + self.scene[pictures] @ self.segment_scene[visitor.segment]
        return 1 / (1 + np.exp(-(logit + self.own[pictures])))

    def painting(self, picture: int) -> bytes:
        """A 16x10 JPEG: a sky band and a ground band whose colours carry the four features."""
        from PIL import Image

        light, warmth, saturation, contrast = 1 / (1 + np.exp(-self.features[picture]))
        hue = 0.6 - 0.55 * warmth  # blue for cold, orange for warm
        sky = colorsys.hsv_to_rgb(hue, saturation, 0.15 + 0.85 * light)
        ground = colorsys.hsv_to_rgb((hue + 0.25) % 1, saturation, (0.15 + 0.85 * light) * (1 - 0.8 * contrast))
        image = Image.new("RGB", (16, 10))
        image.paste(tuple(int(255 * c) for c in sky), (0, 0, 16, 5))  # type: ignore[arg-type]
        image.paste(tuple(int(255 * c) for c in ground), (0, 5, 16, 10))  # type: ignore[arg-type]
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=95)
        return buffer.getvalue()

    def store(self) -> None:
        """The pictures as serving images (files and rows), newest first in picture order."""
        from datetime import timedelta

        from django.utils import timezone

        from garden import keys, look_services, services
        from garden.models import Image

        start = timezone.now() - timedelta(days=30)
        rows = []
        for n, search_key in enumerate(self.search_key):
            emotion, _, favorite = search_key.partition("/")
            key = keys.build_key(
                prefix=keys.SERVING_PREFIX, emotion=emotion, favorite=favorite, timestr=f"20260101-000000-{n:06x}", index=n, orientation="h"
            )
            content = self.painting(n)
            services.write_file(key=key, content=content)
            self.keys.append(key)
            rows.append(
                Image(
                    key=key,
                    status=Image.Status.SERVING,
                    emotion=emotion,
                    favorite=favorite,
                    orientation="h",
                    width=16,
                    height=10,
                    byte_size=len(content),
                    created_at=start - timedelta(seconds=n),
                )
            )
        Image.objects.bulk_create(rows, batch_size=500)
        look_services.backfill_looks()  # as `manage.py measure_pictures` does for pictures stored in bulk
        services.serving_changed()

    def candidates(self, search_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(pictures, tier) that /garden ranks for the key (recommend.candidates' rule)."""
        from django.conf import settings

        mine = np.array([n for n, k in enumerate(self.search_key) if k == search_key], dtype=np.int64)[: settings.RECOMMEND_CANDIDATES]
        emotion, _, favorite = search_key.partition("/")
        if not favorite or len(mine) >= settings.RECOMMEND_MIN_RESULTS:
            return mine, np.zeros(len(mine), dtype=np.int64)
        e = self.emotions.index(emotion)
        others = np.array([n for n, k in enumerate(self.search_key) if self.emotion[n] == e and k != search_key], dtype=np.int64)
        others = others[: settings.RECOMMEND_CANDIDATES]
        return np.concatenate([mine, others]), np.concatenate([np.zeros(len(mine)), np.ones(len(others))]).astype(np.int64)


class Run:
    """One seed: the world stored in this process's database, visitors through the kiosk views."""

    def __init__(self, seed: int, scale: Scale) -> None:
        from bench._inprocess import ClientKiosk

        self.seed, self.scale = seed, scale
        self.world = World(seed, scale)
        self.world.store()
        self.index = {key: n for n, key in enumerate(self.world.keys)}
        self.kiosk = ClientKiosk()
        self.rng = np.random.default_rng([seed, 1])
        probe_rng = np.random.default_rng([seed, 2])
        self.probes = [self.world.visitor(probe_rng) for _ in range(scale.probes)]
        self.pairs = [self.world.visitor(probe_rng) for _ in range(scale.pairs)]
        self._candidates: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.requests = 0

    def candidates(self, search_key: str) -> tuple[np.ndarray, np.ndarray]:
        if search_key not in self._candidates:
            self._candidates[search_key] = self.world.candidates(search_key)
        return self._candidates[search_key]

    def arrive(self, visitor_id: str, visitor: Visitor) -> None:
        """The visitor's row, as /emotion stores it: their labels decide the segment of their events."""
        from garden.models import Visitor as VisitorRow

        age_group, gender = self.world.segments[visitor.segment]
        VisitorRow.objects.create(id=visitor_id, age_group=age_group, gender=gender)

    def screen(self, visitor_id: str, visitor: Visitor) -> np.ndarray:
        """The first three landscape pictures /garden gives this visitor now."""
        age_group, gender = self.world.segments[visitor.segment]
        body = {"id": visitor_id, "emotion": visitor.search_key, "generation": age_group, "gender": gender}
        status, answer = self.kiosk.post("/garden", body)
        self.requests += 1
        assert status == 200, answer[:300]
        urls = [item["url"] for item in json.loads(answer)["landscape"][:3]]
        shown = np.array([self.index[url[url.rindex("emotions/") :]] for url in urls], dtype=np.int64)
        assert np.isin(shown, self.candidates(visitor.search_key)[0]).all(), "/garden showed a picture outside the key's candidates"
        return shown

    def feedback(self, visitor_id: str, shown: np.ndarray, liked: int | None) -> None:
        keys = [self.world.keys[n] for n in shown]
        if liked is None:
            status, _ = self.kiosk.post("/impression", {"id": visitor_id, "impression": keys})
        else:
            status, _ = self.kiosk.post("/like", {"id": visitor_id, "itemId": self.world.keys[liked], "impression": keys})
        self.requests += 1
        assert status == 200

    def score(self, checkpoint: int) -> float:
        seen_sum = random_sum = best_sum = 0.0
        for n, probe in enumerate(self.probes):
            visitor_id = f"probe-{checkpoint}-{n}"
            self.arrive(visitor_id, probe)
            shown = self.screen(visitor_id, probe)
            pictures, tier = self.candidates(probe.search_key)
            chance = self.world.chance(probe, pictures)
            random_three, best_three = random_and_best(chance, tier, np.zeros(len(pictures), dtype=bool))
            seen_sum += float(self.world.chance(probe, shown).mean())
            random_sum, best_sum = random_sum + random_three, best_sum + best_three
        return share(seen_sum - random_sum, best_sum - random_sum)

    def within_visit(self) -> dict:
        """Twins: A likes one of its first three, B reports them unliked; both ask again."""
        sums = {"liked": 0.0, "unliked": 0.0, "random": 0.0, "best": 0.0}
        for n, probe in enumerate(self.pairs):
            a, b = f"pair-{n}-a", f"pair-{n}-b"
            self.arrive(a, probe)
            self.arrive(b, probe)
            first = self.screen(a, probe)
            self.feedback(a, first, int(first[np.argmax(self.world.chance(probe, first))]))
            self.feedback(b, first, None)
            pictures, tier = self.candidates(probe.search_key)
            random_three, best_three = random_and_best(self.world.chance(probe, pictures), tier, np.isin(pictures, first))
            sums["liked"] += float(self.world.chance(probe, self.screen(a, probe)).mean())
            sums["unliked"] += float(self.world.chance(probe, self.screen(b, probe)).mean())
            sums["random"], sums["best"] = sums["random"] + random_three, sums["best"] + best_three
        span = sums["best"] - sums["random"]
        return {
            "pairs": len(self.pairs),
            "closer": share(sums["liked"] - sums["unliked"], sums["best"] - sums["unliked"]),  # = 1 − gap_A / gap_B
            "way_after_like": share(sums["liked"] - sums["random"], span),
            "way_without_like": share(sums["unliked"] - sums["random"], span),
        }

    def run(self, likes_wanted: int) -> dict:
        from recommend import training

        started = time.perf_counter()
        result: dict = {"seed": self.seed, "pictures": len(self.world.keys), "at_0": self.score(0)}
        result["ceilings"] = _hall_ceilings.ceilings(self.world, self.probes)
        likes = visitors = screens = 0
        while likes < likes_wanted:
            visitor_id, visitor = f"v-{visitors}", self.world.visitor(self.rng)
            visitors += 1
            self.arrive(visitor_id, visitor)
            for _ in range(min(MAX_SCREENS, int(self.rng.geometric(0.4)))):
                shown = self.screen(visitor_id, visitor)
                screens += 1
                chance = self.world.chance(visitor, shown)
                order = self.rng.permutation(len(shown))
                liked = next((int(shown[k]) for k in order if self.rng.random() < chance[k]), None)
                self.feedback(visitor_id, shown, liked)
                if liked is None:
                    continue
                likes += 1
                if likes % self.scale.rebuild_likes == 0:
                    training.rebuild()
                if likes in self.scale.checkpoints:
                    result[f"at_{likes}"] = self.score(likes)
                    print(f"  hall seed {self.seed}: {likes} likes, {result[f'at_{likes}']:+.3f}", file=sys.stderr, flush=True)
                if likes >= likes_wanted:
                    break
        result["within_visit"] = self.within_visit()
        result.update(
            likes=likes, visitors=visitors, screens=screens, requests=self.requests, seconds=round(time.perf_counter() - started, 1)
        )
        return result


def run_one(seed: int, scale: str, likes: int) -> dict:
    """One seed in this process (a child of main): its own database, then the run."""
    from bench import _inprocess

    with _inprocess.scratch("garden-bench-hall-") as work:
        _inprocess.set_up_django(Path(work))
        return Run(seed, SCALES[scale]).run(likes)


def _child(seed: int, scale: str, likes: int) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "learning.py"), "--hall-one", str(seed), scale, "--likes", str(likes)]
    output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if output.returncode:
        raise RuntimeError(f"hall seed {seed} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(*, seeds: list[int], likes: int, jobs: int, scale: str, write: bool) -> dict:
    """Every seed in a child process, ``jobs`` at a time; the table of mean and worst per checkpoint."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = []
        for result in pool.map(lambda seed: _child(seed, scale, likes), seeds):
            runs.append(result)
            print(f"hall seed {result['seed']}: {json.dumps({k: v for k, v in result.items() if k != 'seed'})}", flush=True)
    points = ["at_0", *(f"at_{n}" for n in SCALES[scale].checkpoints if n <= likes)]
    summary: dict = {"scenario": "hall", "scale": scale, "likes": likes, "seeds": seeds, "runs": runs}
    for p in [*points, "within_visit"]:
        values = [r[p]["closer"] if p == "within_visit" else r[p] for r in runs]
        spread = results.standard_error(values)
        summary[p] = {"mean": round(statistics.fmean(values), 3), "worst": min(values), "se": round(spread, 3)}
    summary["ceilings"] = _hall_ceilings.summary(runs)
    if write:
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "learning-hall.json").write_text(json.dumps(summary, indent=2))
    print(f"\nhall, {len(seeds)} seeds: share of the way from a random three to the best three (mean, worst seed, ± standard error)")
    for p in points:
        print(f"  {p:>8}: mean {summary[p]['mean']:.3f}  worst {summary[p]['worst']:.3f}  ± {summary[p]['se']:.3f}")
    _hall_ceilings.report(summary["ceilings"])
    within = summary["within_visit"]
    print(
        f"  within a visit, the screen after a like is {within['mean']:+.3f} closer to the best three (worst seed {within['worst']:+.3f})"
    )
    return summary
