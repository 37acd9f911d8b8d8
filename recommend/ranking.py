"""The counting model: pure numpy, no Django, shared by serving, training and offline evaluation.

A visitor's chance of liking an image is a chain of like-rates (key, image, image in the visitor's
segment, segment for the key, the visitor's own), each shrunk toward the wider rate above it (a Beta
prior), so sparse counts fall back gracefully instead of being trusted blindly; the score is
log p_si + log(r_vk / m_k). Once fitted, the taste model (recommend.taste) shrinks p_si toward what
the image's look predicts (``TastePrior``) and adds a visit's taste (``shift``). The last image of
each screen of three may go to a challenger drawn by Thompson sampling (``thompson_challenger``), so
little-seen images are learnt about. The chain and its symbols: docs/recommendation-model.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.special

SEGMENT_ALL = "*"
CLICK, IMPRESSION, DISLIKE = 0, 1, 2


@dataclass(frozen=True)
class Params:
    """Prior strengths, in pseudo-impressions. Fitted by ``fit_params``; the defaults are sane."""

    base_rate: float = 1 / 3
    key_strength: float = 30.0
    image_strength: float = 10.0
    segment_strength: float = 10.0
    favorite_strength: float = 20.0
    visitor_strength: float = 6.0
    als_weight: float = 0.0
    als_min_likes: int = 10

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Params:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class CandidateCounts:
    """Counts for each candidate image (aligned arrays); zeros where nothing was seen."""

    n_all: np.ndarray
    l_all: np.ndarray
    n_seg: np.ndarray
    l_seg: np.ndarray
    n_key: np.ndarray
    l_key: np.ndarray
    n_keyseg: np.ndarray
    l_keyseg: np.ndarray
    n_vis: np.ndarray
    l_vis: np.ndarray

    @classmethod
    def zeros(cls, size: int) -> CandidateCounts:
        return cls(*(np.zeros(size, dtype=np.float64) for _ in range(10)))


def _shrink(likes, impressions, prior, strength):
    return (likes + strength * prior) / (impressions + strength)


@dataclass(frozen=True)
class TastePrior:
    """What the taste model (recommend.taste) predicts for each candidate before its own counts,
    for the visitor's segment: the like-rates, and whether the counts that correct them are
    everyone's (a visitor without a segment) rather than the segment's."""

    rate: np.ndarray
    everyone: bool = False
    # Per candidate, the prediction's weight in pseudo-impressions (``prediction_strength``); None:
    # the fit's one strength (``Params.segment_strength``) for every candidate.
    strength: np.ndarray | None = None
    # Per candidate, how sure the prediction is (``strength`` over the fit's, in (0, 1]) and the
    # lineage head start in its logit: with them the exploit score is centred on the key's rate in
    # the segment, moved by the prediction in proportion to how sure it is (``exploit_rate``).
    sureness: np.ndarray | None = None
    head_start: np.ndarray | None = None

    def exploit_rate(self, key_rate: np.ndarray) -> np.ndarray:
        """The rate ``score`` shrinks toward: the prediction's logit weighed by its sureness against
        the key's rate in the segment, plus the lineage head start. An unjudged look far off those
        fitted on then starts at its key's rate, not at the ½ its doubt pulls it to, and does not
        take the first places from proven pictures; Thompson's posteriors keep ``rate``, so
        exploration still shows it."""
        if self.sureness is None:
            return self.rate
        head = 0.0 if self.head_start is None else self.head_start
        predicted = scipy.special.logit(np.clip(self.rate, 1e-6, 1 - 1e-6)) - head
        key = scipy.special.logit(np.clip(key_rate, 1e-6, 1 - 1e-6))
        return scipy.special.expit(self.sureness * predicted + (1 - self.sureness) * key + head)

    def weight(self, params: Params) -> np.ndarray | float:
        return params.segment_strength if self.strength is None else self.strength

    def counts(self, counts: CandidateCounts) -> tuple[np.ndarray, np.ndarray]:
        """(likes, impressions) that correct the prediction."""
        if self.everyone:
            return np.maximum(counts.l_all, 0), counts.n_all
        return np.maximum(counts.l_seg, 0), counts.n_seg


def score(
    counts: CandidateCounts,
    params: Params,
    *,
    als: np.ndarray | None = None,
    prior: TastePrior | None = None,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """Log-scores (posterior means), higher is better. ``als`` (standardised) is added with ``als_weight``.

    With a taste ``prior``, an image's rate within the segment is shrunk toward what its look and
    key predict for the segment (with ``segment_strength`` as the taste fit measured it) instead of
    the chain through its key's and its own rate over everyone: a new image starts from its
    features, and the segment's counts of it correct them; an unsure prediction is centred on the
    key's rate in the segment (``TastePrior.exploit_rate``). ``shift``, this visit's taste
    (recommend.precomputed.visit_shift), is added to the log-scores."""
    base = params.base_rate
    m_key = _shrink(np.maximum(counts.l_key, 0), counts.n_key, base, params.key_strength)
    r_seg = _shrink(np.maximum(counts.l_keyseg, 0), counts.n_keyseg, m_key, params.favorite_strength)
    if prior is None:
        p_img = _shrink(np.maximum(counts.l_all, 0), counts.n_all, m_key, params.image_strength)
        p_seg = _shrink(np.maximum(counts.l_seg, 0), counts.n_seg, p_img, params.segment_strength)
    else:
        p_seg = _shrink(*prior.counts(counts), prior.exploit_rate(m_key if prior.everyone else r_seg), prior.weight(params))
    r_vis = _shrink(np.maximum(counts.l_vis, 0), counts.n_vis, r_seg, params.visitor_strength)
    eps = 1e-9
    result = np.log(p_seg + eps) + np.log(r_vis + eps) - np.log(m_key + eps)
    if als is not None and params.als_weight:
        result = result + params.als_weight * als
    if shift is not None:
        result = result + shift
    return result


# Given the candidates an exploration slot may take and the one it would hold without exploring,
# the candidate to show instead, or None to keep the incumbent.
Challenge = Callable[[np.ndarray, int], "int | None"]


def arrange(
    *,
    portrait: np.ndarray,
    tier: np.ndarray,
    score: np.ndarray,
    demoted: np.ndarray,
    keep: np.ndarray | None = None,
    explore_every: int = 0,
    explore_depth: int = 12,
    challenge: Challenge | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate indices best first: (landscape, portrait). Arrays are aligned per candidate.

    Order: not demoted before demoted (liked before, just shown), lower tier first (the requested
    search key before its emotion's other favorites), higher score first, then input order
    (callers pass newest first). ``keep`` drops candidates (dislikes). With ``explore_every`` > 0
    and ``challenge``, every ``explore_every``-th slot (the last of each screen of three) among the
    first ``explore_depth`` may go to a challenger of the first tier instead of the image the
    scores put there; deeper, the list keeps its order (visitors seldom get there).
    """
    n = len(score)
    index = np.arange(n)
    keep = np.ones(n, dtype=bool) if keep is None else keep
    out = []
    for side in (False, True):
        mine = index[keep & (portrait == side)]
        ordered = mine[np.lexsort((mine, -score[mine], tier[mine], demoted[mine]))]
        if explore_every > 0 and challenge is not None and len(ordered):
            ordered = with_exploration_slots(ordered, tier, demoted, explore_every, explore_depth, challenge)
        out.append(ordered)
    return out[0], out[1]


def with_exploration_slots(
    ordered: np.ndarray, tier: np.ndarray, demoted: np.ndarray, every: int, depth: int, challenge: Challenge
) -> np.ndarray:
    """``ordered`` with its exploration slots filled: the challenger of each slot is drawn from the
    first tier's candidates still queued, and a challenged incumbent stays first in line.

    The queue (the candidates not demoted, in ``ordered``'s order) is sorted by tier, as both
    callers sort by tier before score, and stays so (only its head is taken or put back, and only
    first-tier candidates are taken from inside it): the first tier's candidates still queued are
    the slice ``queue[at:first_tier_end]``, not a scan of the queue per slot
    (tests/recommend/test_ranking.py keeps the scan as the specification).
    """
    queue = ordered[~demoted[ordered]]
    if not len(queue):
        return ordered
    first_tier_end = int(np.count_nonzero(tier[queue] == tier[queue[0]]))
    result: list[int] = []
    at = 0  # queue[at:] is still queued
    while at < len(queue) and len(result) < depth:
        pick = int(queue[at])
        at += 1
        if len(result) % every == every - 1 and at < first_tier_end:
            remaining = queue[at:first_tier_end]
            challenger = challenge(remaining, pick)
            if challenger is not None:  # the incumbent stays first in line for the next slot
                queue = np.delete(queue, at + int(np.flatnonzero(remaining == challenger)[0]))
                first_tier_end -= 1
                at -= 1  # queue[at] is the incumbent again
                pick = challenger
        result.append(pick)
    return np.concatenate((np.array(result, dtype=np.int64), queue[at:], ordered[demoted[ordered]])).astype(np.int64, copy=False)


def beta_sf(x, a, b):
    """P(θ > x) for θ ~ Beta(a, b), as the regularized incomplete beta (scipy.stats.beta.sf costs far more per call)."""
    return scipy.special.betainc(b, a, 1 - x)


def least_shown_challenger(impressions: np.ndarray, fresh_below: float) -> Challenge:
    """The older fixed exploration slot: the least-shown image shown fewer than ``fresh_below`` times."""

    def challenge(remaining: np.ndarray, incumbent: int) -> int | None:
        fresh = remaining[impressions[remaining] < fresh_below]
        return int(fresh[np.argmin(impressions[fresh])]) if len(fresh) else None

    return challenge


def thompson_posteriors(
    counts: CandidateCounts, params: Params, prior: TastePrior | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each candidate's Beta posterior (alpha, beta, mean) and its key's screens so far (+1): what
    ``thompson_challenger`` weighs, none of it the visitor's (recommend.precomputed keeps it).

    Without a taste ``prior``: the image's rate over everyone, its key's rate as the prior mean.
    With one: its rate within the segment, centred on what its features predict for the segment,
    as ``score`` centres it."""
    m_key = _shrink(np.maximum(counts.l_key, 0), counts.n_key, params.base_rate, params.key_strength)
    strength: np.ndarray | float
    if prior is None:
        strength, center, likes, shown = params.image_strength, m_key, np.maximum(counts.l_all, 0), counts.n_all
    else:
        strength, center, (likes, shown) = prior.weight(params), prior.rate, prior.counts(counts)
    alpha = likes + strength * center
    beta = np.maximum(shown - likes, 0) + strength * (1 - center)
    return alpha, beta, alpha / (alpha + beta), counts.n_key / 3 + 1


def visit_posteriors(alpha: np.ndarray, beta: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``thompson_posteriors``' (alpha, beta, mean) for a visitor with this visit's
    ``shift``: each mean moved by the factor ``score`` gives it (exp(shift), below 1), with the same
    pseudo-count, so the challenger is the picture most likely to beat the incumbent for this
    visitor, not for their segment (else exploration slots bring back what the visit pushed away)."""
    total = alpha + beta
    mean = np.clip(alpha / total * np.exp(shift), 1e-9, 1 - 1e-9)
    return mean * total, (1 - mean) * total, mean


def thompson_challenger(
    counts: CandidateCounts, params: Params, rng: np.random.Generator, prior: TastePrior | None = None, shift: np.ndarray | None = None
) -> Challenge:
    """Thompson sampling between the incumbent and its most promising challenger, when it pays.

    Each image's like-rate over everyone has a Beta posterior (its likes and impressions, shrunk
    toward its search key's rate with ``image_strength``). The challenger is the candidate most
    likely to beat the incumbent's expected rate, P(θ > mean of the incumbent), and it takes the
    slot with that probability, so an image is shown as often as it may be the better one. But
    only while showing it is worth its price: the expected improvement if it is better
    (E[max(θ − incumbent's mean, 0)]) reaches the visitors still to come (estimated as the screens
    of its search key shown so far) through the share of the posterior one impression moves
    (1 / its pseudo-count), and that must exceed what the slot loses now (the difference of the
    means). New images start near even odds; once the counts settle, exploration stops instead of
    costing every screen a slot. With this visit's ``shift``, the posteriors are the visitor's
    (``visit_posteriors``).
    """
    alpha, beta, mean, screens_so_far = thompson_posteriors(counts, params, prior)
    if shift is not None:
        alpha, beta, mean = visit_posteriors(alpha, beta, shift)
    return challenger_over(alpha, beta, mean, screens_so_far, rng)


def challenger_over(
    alpha: np.ndarray, beta: np.ndarray, mean: np.ndarray, screens_so_far: np.ndarray, rng: np.random.Generator
) -> Challenge:
    """``thompson_challenger``'s rule over these posteriors."""

    def challenge(remaining: np.ndarray, incumbent: int) -> int | None:
        target = mean[incumbent]
        odds = beta_sf(target, alpha[remaining], beta[remaining])
        best = int(remaining[np.argmax(odds)])
        chance = float(odds.max())
        improvement = mean[best] * beta_sf(target, alpha[best] + 1, beta[best]) - target * chance
        worth = improvement * screens_so_far[best] / (alpha[best] + beta[best])
        if worth <= target - mean[best]:
            return None
        return best if rng.random() < chance else None

    return challenge


def moderated_logits(logits: np.ndarray, logit_variance: np.ndarray) -> np.ndarray:
    """The logit of the like-rate a logit predicts when the model is unsure of it by
    ``logit_variance``: the mean of the logistic over that doubt (MacKay's probit approximation),
    pulled toward ½ as the doubt grows, where the logit alone would say 0.999 for a look far off
    those fitted on."""
    return logits / np.sqrt(1.0 + np.pi * logit_variance / 8.0)


def prediction_strength(rate: np.ndarray, logit_variance: np.ndarray, strength: float) -> np.ndarray:
    """The weight, in pseudo-impressions, of a prediction ``rate`` whose logit the model is unsure
    of by ``logit_variance``: the fit's ``strength`` says how far pictures stray from predictions
    like those it was fitted on (a Beta spread of rate·(1 − rate) / (strength + 1)); the model's own
    doubt adds (rate·(1 − rate))²·variance by the delta method. A look far off those fitted on is
    an extrapolation: its prediction weighs a few impressions, so its own counts soon decide, and
    exploration shows it while they are few."""
    spread = rate * (1 - rate)
    return np.clip(1.0 / (1.0 / (strength + 1.0) + spread * logit_variance) - 1.0, 1.0, max(strength, 1.0))


def standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def unique_index(values: Iterable) -> dict:
    return {value: index for index, value in enumerate(dict.fromkeys(values))}
