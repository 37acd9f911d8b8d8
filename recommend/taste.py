"""The taste model: how each audience segment's like-rate follows what a picture shows. Pure numpy
and scipy, no Django: training fits it, serving and the gardener predict with it.

A picture is its standardised look (garden.looks) and its search key's words; for segment s,
logit P(like | shown) = b + b_s + x · (w + u_s), with Gaussian priors (``Strengths``) so a thin
segment stays near everyone's taste and an unseen picture starts from what its look predicts.
Fitted by maximum a posteriori on the counters, so a like teaches about every picture that looks
alike. ``visit_shift`` moves a visitor's weights by one Newton step from their likes and passes in
this visit, without a rebuild. docs/recommendation-model.md has the derivation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import scipy.special

from garden import keys as garden_keys

SEGMENT_ALL = "*"
# The key's words, one column each: an "Any" key has none of the favorite's.
WORDS = (*garden_keys.EMOTIONS, *(word for _, words in garden_keys.FAVORITE_PARTS for word in words))
# Cells fitted at most: the fit's cost grows with them; past this a uniform sample (its likelihood
# scaled up to the whole) says the same about a few dozen weights.
MAX_CELLS = 50_000
NEWTON_STEPS = 30  # log-concave and smooth: a handful converge


@dataclass(frozen=True)
class Strengths:
    """Prior precisions (1 / variance) of the weights, on standardised looks and 0/1 words. Fixed:
    fitting them by empirical Bayes on the MAP weights shrank every segment to nothing (the
    weights it sees are already shrunk), and on the hall scenario of bench/learning.py these
    values were the best of those tried (docs/recommendation-model.md)."""

    shared: float = 1.0  # w: what everyone likes
    segment: float = 4.0  # u_s, b_s: a segment's deviation from everyone
    # A visitor's deviation from their segment, within a visit. At 1, one like moved look-alike
    # pictures by several logits, past what the segment and the counts know: on the hall scenario
    # the next screen was worse for the liker than with no shift at all (docs/recommendation-model.md#within-a-visit).
    visit: float = 4.0


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
    # The Laplace approximation's covariance of each segment's logit coefficients (bias, then the
    # design's columns), everyone's last: (segments + 1, 1 + columns, 1 + columns). None: not known.
    covariance: np.ndarray | None = None

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

    def logit_variance(self, design: np.ndarray, segment: str = SEGMENT_ALL) -> np.ndarray | None:
        """How unsure the fit is of each row's logit (the coefficients' posterior variance along
        it): small for looks like those it was fitted on, large for a look far off their spread,
        where the linear logit is an extrapolation. None for a model saved without it."""
        if self.covariance is None or not len(design):
            return None
        z = np.hstack([np.ones((len(design), 1)), design])
        return np.maximum(np.einsum("ij,jk,ik->i", z, self.covariance[self.segment_row(segment)], z), 0.0)

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        arrays = {
            "segments": np.array(self.segments, dtype=str),
            "look_mean": self.look_mean,
            "look_scale": self.look_scale,
            "bias": np.array([self.bias]),
            "weights": self.weights,
            "segment_bias": self.segment_bias,
            "segment_weights": self.segment_weights,
            "strengths": np.array([self.strengths.shared, self.strengths.segment, self.strengths.visit]),
        }
        if self.covariance is not None:
            arrays["covariance"] = self.covariance
        np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
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
            covariance=data["covariance"] if "covariance" in data.files else None,
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
    scale: float = 1.0,
) -> Taste | None:
    """MAP fit on counter cells: (segment row or -1 for no known segment, image row, impressions,
    likes). ``looks`` and ``fields`` are per image row. ``scale``: how many cells each one stands
    for (a sample: ``sample_cells``). None without any impression."""
    shown = impressions > 0
    cell_segment, cell_image, impressions, likes = cell_segment[shown], cell_image[shown], impressions[shown], likes[shown]
    if not len(impressions):
        return None
    likes = np.clip(likes, 0, impressions).astype(float)
    impressions = impressions.astype(float)
    measured = looks[np.unique(cell_image)]
    look_mean = np.nan_to_num(np.nanmean(measured, axis=0), nan=0.0) if np.isfinite(measured).any() else np.zeros(looks.shape[1])
    spread = np.nanstd(measured, axis=0) if np.isfinite(measured).any() else np.ones(looks.shape[1])
    look_scale = np.where(np.isfinite(spread) & (spread > 1e-9), spread, 1.0)
    base = Taste(tuple(segments), look_mean, look_scale, 0.0, np.zeros(0), np.zeros(0), np.zeros((0, 0)), strengths)
    z = np.hstack([np.ones((len(cell_image), 1)), base.design(looks, fields)[cell_image]])  # a bias column, then x
    rate = likes.sum() / impressions.sum()
    coefficients = np.zeros((len(segments) + 1, z.shape[1]))  # row 0: b and w; row 1 + s: b_s and u_s
    coefficients[0, 0] = scipy.special.logit(np.clip(rate, 1e-3, 1 - 1e-3))
    coefficients, hessian = _newton(z, cell_segment, impressions * scale, likes * scale, coefficients, strengths)
    shared, own = coefficients[0], coefficients[1:]
    covariance = _logit_covariance(hessian, coefficients.shape)
    return Taste(
        tuple(segments), look_mean, look_scale, float(shared[0]), shared[1:], own[:, 0].copy(), own[:, 1:].copy(), strengths, covariance
    )


def _logit_covariance(hessian: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per segment, the covariance of its coefficients (shared + own) under the Laplace
    approximation (the inverse Hessian at the MAP); everyone's (the shared block alone) last."""
    rows, dim = shape
    inverse = np.linalg.pinv(hessian)
    shared = inverse[:dim, :dim]
    out = np.empty((rows, dim, dim))
    for s in range(1, rows):
        block = slice(s * dim, (s + 1) * dim)
        out[s - 1] = shared + inverse[block, block] + inverse[:dim, block] + inverse[block, :dim]
    out[rows - 1] = shared
    return out


def _newton(z, segment, impressions, likes, coefficients, strengths: Strengths) -> tuple[np.ndarray, np.ndarray]:
    """The MAP coefficients, and the Hessian of the negative log posterior there, by Newton's
    method (the posterior is log-concave: a halved step when a full one does not lower it). Each
    segment's block couples only with the shared one, so the Hessian is built from one Gram matrix
    per segment. The shared bias has no prior."""
    rows, dim = coefficients.shape
    members = [np.flatnonzero(segment == s) for s in range(rows - 1)]
    precision = np.full(coefficients.shape, strengths.segment)
    precision[0] = strengths.shared
    precision[0, 0] = 0.0

    def logits(c):
        eta = z @ c[0]
        for s, at in enumerate(members):
            eta[at] += z[at] @ c[s + 1]
        return eta

    def loss(c):
        eta = logits(c)
        return float(np.sum(impressions * np.logaddexp(0.0, eta) - likes * eta) + 0.5 * np.sum(precision * c * c))

    def gradient_and_hessian(c):
        p = scipy.special.expit(logits(c))
        residual, curvature = impressions * p - likes, impressions * p * (1 - p)
        grad = precision * c
        hessian = np.zeros((rows * dim, rows * dim))
        grad[0] += residual @ z
        hessian[:dim, :dim] = (z * curvature[:, None]).T @ z + np.diag(precision[0])
        for s, at in enumerate(members):
            block = slice((s + 1) * dim, (s + 2) * dim)
            gram = (z[at] * curvature[at, None]).T @ z[at]
            grad[s + 1] += residual[at] @ z[at]
            hessian[block, block] = gram + np.diag(precision[s + 1])
            hessian[:dim, block] = hessian[block, :dim] = gram
        return grad, hessian

    current = loss(coefficients)
    for _ in range(NEWTON_STEPS):
        grad, hessian = gradient_and_hessian(coefficients)
        step = np.linalg.solve(hessian, grad.ravel()).reshape(rows, dim)
        size = 1.0
        while size > 1e-4 and (tried := loss(coefficients - size * step)) > current:
            size /= 2
        if size <= 1e-4:
            break
        coefficients, improvement, current = coefficients - size * step, current - tried, tried
        if np.max(np.abs(size * step)) < 1e-6 or improvement < 1e-9 * max(abs(current), 1.0):
            break
    return coefficients, gradient_and_hessian(coefficients)[1]


def sample_cells(count: int, seed: int = 0) -> tuple[np.ndarray | None, float]:
    """Which of ``count`` cells to fit on (None: all) and how many each stands for: past
    MAX_CELLS, a uniform sample whose likelihood is scaled up to the whole."""
    if count <= MAX_CELLS:
        return None, 1.0
    return np.sort(np.random.default_rng(seed).choice(count, MAX_CELLS, replace=False)), count / MAX_CELLS


def visit_shift(taste: Taste, design: np.ndarray, prior_logits: np.ndarray, liked: np.ndarray) -> np.ndarray:
    """The visitor's weights less their segment's, after the pictures of ``design`` they were shown
    in this visit (``liked``: 1 for a like, 0 for a pass), predicted at ``prior_logits``: one Newton
    step of a logistic regression from zero under the prior precision ``strengths.visit``."""
    if not len(design):
        return np.zeros(design.shape[1])
    p = scipy.special.expit(prior_logits)
    hessian = (design * (p * (1 - p))[:, None]).T @ design + taste.strengths.visit * np.eye(design.shape[1])
    return np.linalg.solve(hessian, design.T @ (liked - p))
