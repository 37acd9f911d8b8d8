"""/garden from a precomputed order: what the counting ranker derives from counts that are not the
visitor's.

From one copy of everyone's and the segment's counters and one loaded model, everything but the
visitor's part of the answer is the same for every request: the scores with the visitor's lift at
its prior (no own impressions or likes of the key), each orientation's base order (what
``ranking.arrange`` sorts by: tier, then score, then newest, before demotion and dislikes), and the
Thompson challenger's posteriors. A ``BaseOrder`` holds them; the serving cache (recommend.serving)
keeps it per search key and segment while its counts and model are the current ones.

Per request the ranker then only drops dislikes, moves what was liked or recently shown after the
rest (a stable partition of the base order: the same as sorting with "demoted" as the first key),
and runs the exploration slots. A visitor with their own history in a candidate's search key gets
exact scores and a fresh sort instead (recommend.rankers). tests/recommend/test_precomputed.py
compares every case with the full path on the same data and seeded draws.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import scipy.special

from recommend import ranking, taste
from recommend.candidates import CandidateSet
from recommend.store import LoadedModel

# Incumbents whose odds a kept entry remembers. A visitor without demotions meets at most 1+2+3+4
# per orientation in the first 12 slots (each taken slot shifts the next incumbent by one), so 32
# covers them; each costs 8 bytes per candidate of its orientation.
KEPT_INCUMBENTS = 32


class Thompson:
    """``ranking.thompson_challenger`` over kept posteriors, with P(θ > incumbent's mean) kept per
    incumbent. ``betainc`` is evaluated element by element, so the kept odds indexed by the
    remaining candidates are the very numbers the full path computes on that subset."""

    def __init__(
        self, counts: ranking.CandidateCounts, params: ranking.Params, portrait: np.ndarray, prior: ranking.TastePrior | None = None
    ) -> None:
        self.alpha, self.beta, self.mean, self.screens = ranking.thompson_posteriors(counts, params, prior)
        # An exploration slot's remaining candidates share the incumbent's orientation (arrange
        # ranks each apart), so the odds are kept over that orientation's candidates only.
        self._sides = (np.flatnonzero(~portrait), np.flatnonzero(portrait))
        self._portrait = portrait
        self._at = np.empty(len(portrait), dtype=np.int64)  # each candidate's position in its side
        for side in self._sides:
            self._at[side] = np.arange(len(side))
        self._odds: dict[int, np.ndarray] = {}
        self._pays: dict[tuple[int, int], bool] = {}
        self._lock = threading.Lock()  # requests of this process share the entry

    def _odds_for(self, incumbent: int) -> np.ndarray:
        found = self._odds.get(incumbent)
        if found is None:
            side = self._sides[int(self._portrait[incumbent])]
            found = ranking.beta_sf(self.mean[incumbent], self.alpha[side], self.beta[side])
            with self._lock:
                if len(self._odds) < KEPT_INCUMBENTS:
                    self._odds[incumbent] = found
        return found

    def _worth_it(self, incumbent: int, best: int, chance: float) -> bool:
        """The full path's test, improvement spread over the visitors to come > the slot's loss;
        it depends on the pair only (``chance`` is the best's odds against this incumbent)."""
        found = self._pays.get((incumbent, best))
        if found is None:
            alpha, beta, mean, target = self.alpha, self.beta, self.mean, self.mean[incumbent]
            improvement = mean[best] * ranking.beta_sf(target, alpha[best] + 1, beta[best]) - target * chance
            worth = improvement * self.screens[best] / (alpha[best] + beta[best])
            found = not worth <= target - mean[best]  # as the full path tests it, NaN included
            with self._lock:
                if len(self._pays) < KEPT_INCUMBENTS * 8:
                    self._pays[(incumbent, best)] = found
        return found

    def challenger(self, rng: np.random.Generator, shift: np.ndarray | None = None) -> ranking.Challenge:
        """The same choices and the same draws from ``rng`` as ``ranking.thompson_challenger``.
        With a visit's ``shift`` the odds are the visitor's: computed per request, not kept."""
        if shift is not None:
            return ranking.challenger_over(*ranking.visit_posteriors(self.alpha, self.beta, shift), self.screens, rng)

        def challenge(remaining: np.ndarray, incumbent: int) -> int | None:
            odds = self._odds_for(incumbent)[self._at[remaining]]
            at = int(np.argmax(odds))
            best, chance = int(remaining[at]), float(odds[at])
            if not self._worth_it(incumbent, best, chance):
                return None
            return best if rng.random() < chance else None

        return challenge


@dataclass(frozen=True)
class TasteView:
    """The taste model's view of one candidate set for one segment: the design rows, the segment's
    logits on them, and the prior the counting model shrinks toward."""

    design: np.ndarray
    logits: np.ndarray
    prior: ranking.TastePrior


def taste_view(candidates: CandidateSet, segment: str, model: LoadedModel) -> TasteView | None:
    """None when the model has no taste or the candidates no looks (then the counts decide alone)."""
    if model.taste is None or candidates.looks is None or not len(candidates):
        return None
    fields = taste.key_fields(candidates.search_keys)[candidates.key_index]
    design = model.taste.design(candidates.looks, fields)
    logits = model.taste.logits(design, segment)
    variance = model.taste.logit_variance(design, segment)  # None: a model saved before it kept it
    if variance is not None:
        logits = ranking.moderated_logits(logits, variance)
    head_start = None
    if model.lineage is not None:  # a bred picture's head start from its parents (recommend.lineage)
        head_start = model.lineage.of(candidates.ids)
        logits = logits + head_start
    rate = scipy.special.expit(logits)
    everyone = not segment or segment == ranking.SEGMENT_ALL
    if variance is None:
        return TasteView(design, logits, ranking.TastePrior(rate, everyone=everyone))
    strength = ranking.prediction_strength(rate, variance, model.params.segment_strength)
    sureness = strength / max(model.params.segment_strength, 1.0)
    prior = ranking.TastePrior(rate, everyone=everyone, strength=strength, sureness=sureness, head_start=head_start)
    return TasteView(design, logits, prior)


def visit_shift(view: TasteView | None, model: LoadedModel, shown: np.ndarray, liked: np.ndarray) -> np.ndarray | None:
    """Per candidate, what this visit's likes and passes add to the log-scores: the visitor's taste
    moved from their segment's (recommend.taste.visit_shift), a factor on their odds of liking
    each picture whatever its counts. ``shown``: the candidates seen in this visit; ``liked``: a
    mask over all of them. None without a taste model or a picture seen."""
    if view is None or model.taste is None or not len(shown):
        return None
    delta = taste.visit_shift(model.taste, view.design[shown], view.logits[shown], liked[shown].astype(float))
    return view.design @ delta


@dataclass(frozen=True)
class BaseOrder:
    counts: ranking.CandidateCounts  # the kept counters it was built from (n_vis = l_vis = 0)
    model: LoadedModel
    scores: np.ndarray  # per candidate, the visitor's lift at its prior
    sides: tuple[np.ndarray, np.ndarray]  # landscape, portrait: candidate indices by (tier, -score, index)
    thompson: Thompson
    taste: TasteView | None = None


def sides(candidates: CandidateSet, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each orientation's candidates in ``ranking.arrange``'s order without demotions or dislikes."""
    index, out = np.arange(len(candidates)), []
    for side in (False, True):
        mine = index[candidates.portrait == side]
        order = mine[np.lexsort((mine, -scores[mine], candidates.tier[mine]))]
        order.flags.writeable = False
        out.append(order)
    return out[0], out[1]


def build_base_order(
    *, candidates: CandidateSet, counts: ranking.CandidateCounts, model: LoadedModel, thompson: Thompson, view: TasteView | None
) -> BaseOrder:
    """The base order of ``candidates`` from everyone's and the segment's ``counts``."""
    scores = ranking.score(counts, model.params, prior=view.prior if view else None)  # the ALS term is the visitor's: never here
    scores.flags.writeable = False
    return BaseOrder(counts, model, scores, sides(candidates, scores), thompson, view)


def arrange(
    *,
    candidates: CandidateSet,
    sides: tuple[np.ndarray, np.ndarray],
    demoted: np.ndarray | None,
    dropped: np.ndarray | None,
    explore_every: int,
    explore_depth: int,
    challenge: ranking.Challenge | None,
    limit: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``ranking.arrange`` from base orders: the same lists, cut to ``limit``. ``demoted`` (liked or
    recently shown) and ``dropped`` (disliked) are candidate masks, None for none."""
    flags = np.zeros(len(candidates), dtype=bool) if demoted is None else demoted
    out = []
    for ordered in sides:
        if dropped is not None:
            ordered = ordered[~dropped[ordered]]
        if demoted is not None:
            last = demoted[ordered]
            ordered = np.concatenate((ordered[~last], ordered[last]))
        if explore_every > 0 and challenge is not None and len(ordered):
            ordered = ranking.with_exploration_slots(ordered, candidates.tier, flags, explore_every, explore_depth, challenge)
        out.append(ordered[:limit])
    return out[0], out[1]
