"""Feedback as the counting model reads it: the interactions as integer arrays (``Events``), their
dense counts per segment, image and key (``FeedbackTable``), a pair's net likes, and the prior
strengths fitted on those counts (``fit_params``). Pure numpy, no Django, as recommend.ranking,
whose scores read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommend.ranking import CLICK, DISLIKE, IMPRESSION, CandidateCounts, Params


@dataclass
class Events:
    """Interactions as integer arrays. Impression lists are flattened into (imp_event, imp_image)."""

    visitor: np.ndarray  # visitor index per event
    kind: np.ndarray  # CLICK / IMPRESSION / DISLIKE
    image: np.ndarray  # image index of the clicked/disliked item, -1 for none
    imp_event: np.ndarray  # event index of each shown key
    imp_image: np.ndarray  # image index of each shown key


@dataclass
class FeedbackTable:
    """Dense counts: [segment, image] and [segment, key]; segment 0 is everyone."""

    segments: list[str]
    img_n: np.ndarray
    img_l: np.ndarray
    img_d: np.ndarray
    key_n: np.ndarray
    key_l: np.ndarray

    def candidate_counts(
        self, *, images: np.ndarray, image_key: np.ndarray, segment: str, visitor_key_n=None, visitor_key_l=None
    ) -> CandidateCounts:
        seg = self.segments.index(segment) if segment in self.segments else -1
        keys = image_key[images]
        counts = CandidateCounts(
            n_all=self.img_n[0, images].astype(float),
            l_all=self.img_l[0, images].astype(float),
            n_seg=self.img_n[seg, images].astype(float) if seg > 0 else np.zeros(len(images)),
            l_seg=self.img_l[seg, images].astype(float) if seg > 0 else np.zeros(len(images)),
            n_key=self.key_n[0, keys].astype(float),
            l_key=self.key_l[0, keys].astype(float),
            n_keyseg=self.key_n[seg, keys].astype(float) if seg > 0 else np.zeros(len(images)),
            l_keyseg=self.key_l[seg, keys].astype(float) if seg > 0 else np.zeros(len(images)),
            n_vis=np.zeros(len(images)) if visitor_key_n is None else visitor_key_n[keys].astype(float),
            l_vis=np.zeros(len(images)) if visitor_key_l is None else visitor_key_l[keys].astype(float),
        )
        return counts


def undone_likes(likes, dislikes):
    """The likes a (visitor, image) pair's dislikes undo: each dislike undoes one like, counted, not
    ordered (like-dislike-like nets one like). The one definition of a pair's net likes (its likes
    less these), for the live counters (recommend.services), the counts (recommend.counting), ALS
    (recommend.training) and evaluation; ints or arrays."""
    return np.minimum(likes, dislikes)


def net_likes(events: Events, n_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visitor, image, net likes) per pair (``undone_likes``)."""
    mask = events.kind != IMPRESSION
    pair = events.visitor[mask].astype(np.int64) * n_images + events.image[mask]
    clicks = (events.kind[mask] == CLICK).astype(np.int64)
    uniq, inverse = np.unique(pair, return_inverse=True)
    c = np.bincount(inverse, weights=clicks, minlength=len(uniq))
    d = np.bincount(inverse, weights=1 - clicks, minlength=len(uniq))
    net = c - undone_likes(c, d)
    return uniq // n_images, uniq % n_images, net


def count_feedback(
    events: Events, *, n_images: int, image_key: np.ndarray, n_keys: int, visitor_segment: np.ndarray, segments: list[str]
) -> FeedbackTable:
    """Everything the counting model needs, from the raw events, in a few vectorised passes."""
    n_seg = len(segments)
    img_n = np.zeros((n_seg, n_images), dtype=np.int64)
    img_l = np.zeros((n_seg, n_images), dtype=np.int64)
    img_d = np.zeros((n_seg, n_images), dtype=np.int64)
    key_n = np.zeros((n_seg, n_keys), dtype=np.int64)
    key_l = np.zeros((n_seg, n_keys), dtype=np.int64)

    def add(table, seg_rows, columns, weights=None):
        """Row 0 (everyone) gets every event; a segment row only its own visitors' events."""
        table[0] += np.bincount(columns, weights=weights, minlength=table.shape[1]).astype(np.int64)
        known = seg_rows > 0
        np.add.at(table, (seg_rows[known], columns[known]), 1 if weights is None else weights[known])

    shown_seg = visitor_segment[events.visitor[events.imp_event]]
    add(img_n, shown_seg, events.imp_image)
    add(key_n, shown_seg, image_key[events.imp_image])
    visitors, images, net = net_likes(events, n_images)
    net_seg = visitor_segment[visitors]
    add(img_l, net_seg, images, net.astype(np.int64))
    add(key_l, net_seg, image_key[images], net.astype(np.int64))
    dis = events.kind == DISLIKE
    add(img_d, visitor_segment[events.visitor[dis]], events.image[dis])
    return FeedbackTable(segments=segments, img_n=img_n, img_l=img_l, img_d=img_d, key_n=key_n, key_l=key_l)


def prior_strength(likes: np.ndarray, shown: np.ndarray, prior: np.ndarray, fallback: float) -> float:
    """Method of moments: the Beta prior strength (pseudo-impressions) at which rates ``likes /
    shown`` spread around ``prior`` as much as they do beyond binomial noise; ``fallback`` with
    fewer than 20 of them."""
    if len(shown) < 20:
        return fallback
    rate = likes / shown
    noise = np.mean(prior * (1 - prior) / shown)
    spread = np.mean((rate - prior) ** 2) - noise
    if spread <= 1e-6:
        return 1000.0
    value = float(np.mean(prior * (1 - prior)) / spread - 1)
    return float(np.clip(value, 1.0, 1000.0))


def fit_params(table: FeedbackTable, *, defaults: Params, min_impressions: int = 20) -> Params:
    """Method-of-moments prior strengths: how much real images (and segments) differ from their
    key's (image's) rate beyond binomial noise. Falls back to the defaults when data is thin."""

    # On the integer tables, masked first: converting every cell to float cost most of an
    # incremental rebuild's fit (docs/benchmarks.md). The values, and so the floats, are the same.
    def strength(likes, shown, prior_at, fallback):
        keep = np.flatnonzero(shown >= min_impressions)
        return prior_strength(np.maximum(likes[keep], 0), shown[keep], prior_at(keep), fallback)

    n_all, l_all = table.img_n[0], np.maximum(table.img_l[0], 0)
    total_n = max(table.key_n[0].sum(), 1)
    base = float(np.clip(np.maximum(table.key_l[0], 0).sum() / total_n, 0.01, 0.99)) if table.key_n[0].sum() else defaults.base_rate
    image_strength = strength(table.img_l[0], n_all, lambda keep: np.full(len(keep), base), defaults.image_strength)
    rate_all = (l_all + image_strength * base) / (n_all + image_strength)
    seg_l, seg_n = table.img_l[1:].ravel(), table.img_n[1:].ravel()
    # Segment rows raveled: cell k is image k % images, whose everyone-rate is its prior.
    segment_prior = lambda keep: rate_all[keep % max(len(rate_all), 1)]  # noqa: E731
    segment_strength = strength(seg_l, seg_n, segment_prior, defaults.segment_strength) if len(seg_n) else defaults.segment_strength
    return Params(
        **{
            **defaults.as_dict(),
            "base_rate": base,
            "image_strength": image_strength,
            "segment_strength": segment_strength,
        }
    )
