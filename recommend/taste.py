"""The taste model: how each audience segment's like-rate follows what a picture shows. Pure numpy
and scipy, no Django: training fits it, serving and the gardener predict with it.

A picture is described by its look (garden.looks: colour and light measured from its pixels,
standardised) and its search key's fields (emotion, season, weather, time of day, one column per
word). For a visitor of segment s:

    logit P(like | shown) = b + b_s + x · (w + u_s)

``w`` is what every audience shares, ``u_s`` the segment's own deviation; both are Gaussian priors
(``Strengths``) so a segment with few likes stays near everyone's taste, and a picture nobody has
seen yet starts from what its look and key predict. Fitted by maximum a posteriori on the counters
(impressions and likes per segment and picture), so a like teaches about every picture that looks
alike, across keys. The counting model (recommend.ranking) keeps each picture's own evidence as a
correction on top of this prediction.

Within a visit (``visit_shift``), the visitor's likes and passes on the screens they have just
seen move their weights away from their segment's by one Newton step from the prior, so a like of
a snowy picture brings snowy pictures forward on the next screen without a rebuild.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.special

from garden import keys as garden_keys

SEGMENT_ALL = "*"
# The key's words, one column each: an "Any" key has none of the favorite's.
WORDS = (*garden_keys.EMOTIONS, *(word for _, words in garden_keys.FAVORITE_PARTS for word in words))
# Cells fitted at most: the fit's cost grows with them; past this a uniform sample (its likelihood
# scaled up to the whole) says the same about a few dozen weights.
MAX_CELLS = 200_000


@dataclass(frozen=True)
class Strengths:
    """Prior precisions (1 / variance) of the weights, on standardised looks and 0/1 words. Fixed:
    fitting them by empirical Bayes on the MAP weights shrank every segment to nothing (the
    weights it sees are already shrunk), and on the hall scenario of bench/learning.py these
    values were the best of those tried (docs/recommendation.md)."""

    shared: float = 1.0  # w: what everyone likes
    segment: float = 4.0  # u_s, b_s: a segment's deviation from everyone
    visit: float = 1.0  # a visitor's deviation from their segment, within a visit


def key_fields(search_keys: list[str]) -> np.ndarray:
    """(len(search_keys), len(WORDS)) 0/1: the emotion and the favorite's words of each key."""
    column = {word: n for n, word in enumerate(WORDS)}
    out = np.zeros((len(search_keys), len(WORDS)))
    for row, search_key in enumerate(search_keys):
        emotion, _, favorite = search_key.partition("/")
        for word in (emotion, *favorite.split(",")):
            if word in column:
                out[row, column[word]] = 1.0
    return out


@dataclass(frozen=True)
class Taste:
    segments: tuple[str, ...]  # the segments with their own deviation, in row order
    look_mean: np.ndarray  # per look field: standardisation of the looks it was fitted on
    look_scale: np.ndarray
    bias: float
    weights: np.ndarray  # w, over design columns: looks, then WORDS
    segment_bias: np.ndarray  # b_s
    segment_weights: np.ndarray  # u_s, (segments, columns)
    strengths: Strengths = Strengths()

    def design(self, looks: np.ndarray, fields: np.ndarray) -> np.ndarray:
        """Design rows from raw looks (NaN rows: not measured, taken as the mean look) and key fields."""
        standard = (looks - self.look_mean) / self.look_scale
        return np.hstack([np.nan_to_num(standard, nan=0.0), fields])

    def segment_row(self, segment: str) -> int:
        return self.segments.index(segment) if segment in self.segments else -1

    def coefficients(self, segment: str) -> tuple[float, np.ndarray]:
        """(bias, weights) of ``segment``: everyone's where it has no row of its own."""
        row = self.segment_row(segment)
        if row < 0:
            return self.bias, self.weights
        return self.bias + float(self.segment_bias[row]), self.weights + self.segment_weights[row]

    def logits(self, design: np.ndarray, segment: str = SEGMENT_ALL) -> np.ndarray:
        bias, weights = self.coefficients(segment)
        return bias + design @ weights

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            segments=np.array(self.segments, dtype=str),
            look_mean=self.look_mean,
            look_scale=self.look_scale,
            bias=np.array([self.bias]),
            weights=self.weights,
            segment_bias=self.segment_bias,
            segment_weights=self.segment_weights,
            strengths=np.array([self.strengths.shared, self.strengths.segment, self.strengths.visit]),
        )
        return buffer.getvalue()

    @classmethod
    def loads(cls, blob: bytes | memoryview | None) -> Taste | None:
        if not blob:
            return None
        data = np.load(io.BytesIO(bytes(blob)))
        return cls(
            segments=tuple(str(s) for s in data["segments"]),
            look_mean=data["look_mean"],
            look_scale=data["look_scale"],
            bias=float(data["bias"][0]),
            weights=data["weights"],
            segment_bias=data["segment_bias"],
            segment_weights=data["segment_weights"],
            strengths=Strengths(*(float(v) for v in data["strengths"])),
        )


def fit(
    *,
    cell_segment: np.ndarray,
    cell_image: np.ndarray,
    impressions: np.ndarray,
    likes: np.ndarray,
    looks: np.ndarray,
    fields: np.ndarray,
    segments: list[str],
    strengths: Strengths = Strengths(),
    seed: int = 0,
) -> Taste | None:
    """MAP fit on counter cells: (segment row or -1 for no known segment, image row, impressions,
    likes). ``looks`` and ``fields`` are per image row. None without any impression."""
    shown = impressions > 0
    cell_segment, cell_image, impressions, likes = cell_segment[shown], cell_image[shown], impressions[shown], likes[shown]
    if not len(impressions):
        return None
    scale = 1.0
    if len(impressions) > MAX_CELLS:
        keep = np.random.default_rng(seed).choice(len(impressions), MAX_CELLS, replace=False)
        scale = len(impressions) / MAX_CELLS
        cell_segment, cell_image, impressions, likes = cell_segment[keep], cell_image[keep], impressions[keep], likes[keep]
    likes = np.clip(likes, 0, impressions).astype(float)
    impressions = impressions.astype(float)
    measured = looks[np.unique(cell_image)]
    look_mean = np.nan_to_num(np.nanmean(measured, axis=0), nan=0.0) if np.isfinite(measured).any() else np.zeros(looks.shape[1])
    spread = np.nanstd(measured, axis=0) if np.isfinite(measured).any() else np.ones(looks.shape[1])
    look_scale = np.where(np.isfinite(spread) & (spread > 1e-9), spread, 1.0)
    base = Taste(tuple(segments), look_mean, look_scale, 0.0, np.zeros(0), np.zeros(0), np.zeros((0, 0)), strengths)
    x = base.design(looks, fields)[cell_image]
    n_seg, dim = len(segments), x.shape[1]
    order = np.argsort(cell_segment, kind="stable")
    x, cell_segment, impressions, likes = x[order], cell_segment[order], impressions[order], likes[order]
    bounds = np.searchsorted(cell_segment, np.arange(-1, n_seg + 1))  # slice of each segment row (-1 first)
    rate = likes.sum() / impressions.sum()
    start = np.zeros(1 + dim + n_seg * (1 + dim))
    start[0] = scipy.special.logit(np.clip(rate, 1e-3, 1 - 1e-3))

    def unpack(theta):
        b, w = theta[0], theta[1 : 1 + dim]
        rest = theta[1 + dim :].reshape(n_seg, 1 + dim)
        return b, w, rest[:, 0], rest[:, 1:]

    def objective(theta):
        b, w, seg_b, seg_w = unpack(theta)
        eta = b + x @ w
        for row in range(n_seg):
            at = slice(bounds[row + 1], bounds[row + 2])
            eta[at] += seg_b[row] + x[at] @ seg_w[row]
        loss = scale * float(np.sum(impressions * np.logaddexp(0.0, eta) - likes * eta))
        residual = scale * (impressions * scipy.special.expit(eta) - likes)
        grad_rest = np.zeros((n_seg, 1 + dim))
        for row in range(n_seg):
            at = slice(bounds[row + 1], bounds[row + 2])
            grad_rest[row, 0] = residual[at].sum()
            grad_rest[row, 1:] = residual[at] @ x[at]
        loss += 0.5 * (strengths.shared * float(w @ w) + strengths.segment * float(np.sum(theta[1 + dim :] ** 2)))
        grad_rest = grad_rest.ravel() + strengths.segment * theta[1 + dim :]
        grad = np.concatenate([[residual.sum()], residual @ x + strengths.shared * w, grad_rest])
        return loss, grad

    theta = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    b, w, seg_b, seg_w = unpack(theta)
    return Taste(tuple(segments), look_mean, look_scale, float(b), w, seg_b.copy(), seg_w.copy(), strengths)


def visit_shift(taste: Taste, design: np.ndarray, prior_logits: np.ndarray, liked: np.ndarray) -> np.ndarray:
    """The visitor's weights less their segment's, after the pictures of ``design`` they were shown
    in this visit (``liked``: 1 for a like, 0 for a pass), predicted at ``prior_logits``: one Newton
    step of a logistic regression from zero under the prior precision ``strengths.visit``."""
    if not len(design):
        return np.zeros(design.shape[1])
    p = scipy.special.expit(prior_logits)
    hessian = (design * (p * (1 - p))[:, None]).T @ design + taste.strengths.visit * np.eye(design.shape[1])
    return np.linalg.solve(hessian, design.T @ (liked - p))
