"""A bred picture starts from its parents' evidence, not from nothing.

The taste model (recommend.taste) predicts a new picture's like-rate from what it looks like. A
picture the gardener bred (garden.models.ImageParent) repeats most of its parents' recipe, and how
far the parents beat, or fell short of, their own predictions says something about it before it
has been shown. At each rebuild every picture with parents gets an offset, in logits:

    offset(child) = WEIGHT × mean over its parents of residual(parent)
    residual(p)   = logit(posterior(p)) − logit(prediction(p))

where posterior(p) is p's likes and impressions over everyone shrunk toward its prediction (its
own offset included, so a grandparent's evidence reaches a grandchild, weakened twice) with the
strength the taste fit measured. Serving adds the offset to the child's predicted logits for every
segment (recommend.precomputed.taste_view); the child's own counts then correct that prior as they
correct any other. WEIGHT is RECOMMEND_LINEAGE_WEIGHT (0: off).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import scipy.special

from garden import selectors as garden_selectors
from recommend import feedback, ranking, taste

EPS = 1e-6


@dataclass(frozen=True)
class Lineage:
    ids: np.ndarray  # int64 image ids of the pictures with an offset, ascending
    offsets: np.ndarray  # their offsets, logits

    def of(self, image_ids: np.ndarray) -> np.ndarray:
        """The offset of each of ``image_ids`` (0 for a picture without parents)."""
        out = np.zeros(len(image_ids))
        if not len(self.ids) or not len(image_ids):
            return out
        at = np.minimum(np.searchsorted(self.ids, image_ids), len(self.ids) - 1)
        hit = self.ids[at] == image_ids
        out[hit] = self.offsets[at[hit]]
        return out

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, ids=self.ids, offsets=self.offsets)
        return buffer.getvalue()

    @classmethod
    def loads(cls, blob: bytes | memoryview | None) -> Lineage | None:
        if not blob:
            return None
        data = np.load(io.BytesIO(bytes(blob)))
        return cls(ids=data["ids"], offsets=data["offsets"])


def offsets(
    *,
    links: list[tuple[int, int]],
    ids: np.ndarray,
    predicted: np.ndarray,
    likes: np.ndarray,
    shown: np.ndarray,
    strength: float | np.ndarray,
    weight: float,
) -> Lineage:
    """The offsets of the children of ``links`` ((child id, parent id) pairs). ``ids``: ascending
    ids of every picture named by a link, with, aligned, their ``predicted`` logits over everyone
    and their ``likes`` and ``shown`` (impressions) over everyone. A parent is always older than
    its child (a smaller id), so one pass in id order sees every parent's offset before its
    children's. A link to a picture missing from ``ids`` is left out. ``strength``: the
    predictions' weight, one for all or one per picture (ranking.prediction_strength)."""
    weights = np.broadcast_to(np.asarray(strength, dtype=float), (len(ids),))
    position = {int(image_id): n for n, image_id in enumerate(ids.tolist())}
    parents: dict[int, list[int]] = {}
    for child, parent in links:
        if child in position and parent in position and parent != child:
            parents.setdefault(position[child], []).append(position[parent])
    offset = np.zeros(len(ids))
    residual = np.full(len(ids), np.nan)

    def residual_of(n: int) -> float:
        if np.isnan(residual[n]):
            prior = scipy.special.expit(predicted[n] + offset[n])
            posterior = (max(likes[n], 0.0) + weights[n] * prior) / (shown[n] + weights[n])
            residual[n] = scipy.special.logit(np.clip(posterior, EPS, 1 - EPS)) - predicted[n]
        return float(residual[n])

    children = sorted(parents)
    for n in children:
        offset[n] = weight * float(np.mean([residual_of(p) for p in parents[n]]))
    at = np.array(children, dtype=np.int64)
    return Lineage(ids=ids[at].astype(np.int64) if len(at) else np.zeros(0, dtype=np.int64), offsets=offset[at])


def fit_lineage(
    table: feedback.FeedbackTable,
    *,
    image_ids: np.ndarray,
    image_key: np.ndarray,
    search_keys: list[str],
    fitted: taste.Taste,
    strength: float,
    weight: float,
) -> Lineage | None:
    """The rebuild's lineage offsets over the catalog ``image_ids`` (ascending; search keys
    ``search_keys[image_key]``) from the counts ``table`` and the taste model ``fitted``; None when
    no picture has parents or ``weight`` is 0."""
    links = garden_selectors.parent_links() if weight and len(image_ids) else []
    if not links:
        return None
    named = np.unique(np.array(links, dtype=np.int64).ravel())
    column = np.searchsorted(image_ids, named)
    known = (column < len(image_ids)) & (image_ids[np.minimum(column, len(image_ids) - 1)] == named)
    named, column = named[known], column[known]
    design = fitted.design(garden_selectors.looks_of(named.tolist()), taste.key_fields(search_keys)[image_key[column]])
    predicted = fitted.logits(design, taste.SEGMENT_ALL)
    variance = fitted.logit_variance(design, taste.SEGMENT_ALL)
    strengths: float | np.ndarray = strength
    if variance is not None:  # as serving predicts (recommend.precomputed.taste_view): moderated by the model's doubt
        predicted = ranking.moderated_logits(predicted, variance)
        strengths = ranking.prediction_strength(scipy.special.expit(predicted), variance, strength)
    found = offsets(
        links=links,
        ids=named,
        predicted=predicted,
        likes=table.img_l[0, column].astype(float),
        shown=table.img_n[0, column].astype(float),
        strength=strengths,
        weight=weight,
    )
    return found if len(found.ids) else None
