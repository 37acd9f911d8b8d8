"""The counting model: pure numpy, no Django, shared by serving, training and offline evaluation.

A visitor's chance of liking image i, shown among others for search key k, is estimated by a
chain of like-rates per impression, each shrunk (a Beta prior of the given strength) toward the
wider rate above it, so sparse counts fall back gracefully instead of being trusted blindly:

    base rate (1/3: one like per slate of three)
      → rate of search key k over everyone                      m_k
        → image i over everyone                                  p_i
          → image i within the visitor's age/gender segment      p_si      (the score's first factor)
        → segment's rate for key k                               r_sk
          → the visitor's own rate for key k                     r_vk      (lift r_vk / m_k)

score = log p_si + log(r_vk / m_k) [+ ALS term for visitors with many likes, off by default].
New visitors get their segment's numbers, new images their key's rate (and an exploration slot,
see ``arrange``); with no feedback at all every score is equal and the order stays newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

SEGMENT_ALL = "*"
CLICK, IMPRESSION, DISLIKE = 0, 1, 2


def segment_of(generation: str | None, gender: str | None) -> str:
    """`generation|gender`, or "" when neither is known (then only the everyone level applies)."""
    generation, gender = (generation or "").strip().lower(), (gender or "").strip().lower()
    return f"{generation}|{gender}" if generation or gender else ""


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


def score(counts: CandidateCounts, params: Params, *, als: np.ndarray | None = None) -> np.ndarray:
    """Log-scores, higher is better. ``als`` (already standardised) is added with ``als_weight``."""
    base = params.base_rate
    m_key = _shrink(np.maximum(counts.l_key, 0), counts.n_key, base, params.key_strength)
    p_img = _shrink(np.maximum(counts.l_all, 0), counts.n_all, m_key, params.image_strength)
    p_seg = _shrink(np.maximum(counts.l_seg, 0), counts.n_seg, p_img, params.segment_strength)
    r_seg = _shrink(np.maximum(counts.l_keyseg, 0), counts.n_keyseg, m_key, params.favorite_strength)
    r_vis = _shrink(np.maximum(counts.l_vis, 0), counts.n_vis, r_seg, params.visitor_strength)
    eps = 1e-9
    result = np.log(p_seg + eps) + np.log(r_vis + eps) - np.log(m_key + eps)
    if als is not None and params.als_weight:
        result = result + params.als_weight * als
    return result


@dataclass
class Item:
    """A candidate as ``arrange`` needs it."""

    id: int
    orientation: str
    tier: int  # 0: the requested search key, 1: same emotion, another favorite (fallback)
    impressions: float = 0.0
    score: float = 0.0
    demoted: bool = False  # liked before or just shown: only after every alternative
    extra: dict = field(default_factory=dict)


def arrange(items: Sequence[Item], *, explore_every: int, fresh_impressions: int) -> list[Item]:
    """Best first, per orientation: fresh images get every ``explore_every``-th slot.

    The input order is the tie-break (callers pass newest first), so with no feedback the
    garden is simply newest first. Demoted items (already liked, just shown) go last.
    """
    ordered = sorted(enumerate(items), key=lambda pair: (pair[1].demoted, pair[1].tier, -pair[1].score, pair[0]))
    result: list[Item] = []
    for orientation in sorted({item.orientation for item in items}):
        side = [item for _, item in ordered if item.orientation == orientation]
        main = [item for item in side if not item.demoted]
        fresh = sorted(
            (item for item in main if item.impressions < fresh_impressions and item.tier == min(i.tier for i in main)),
            key=lambda item: item.impressions,
        )
        placed: set[int] = set()
        out: list[Item] = []
        main_iter, fresh_iter = iter(main), iter(fresh)
        while len(out) < len(main):
            item = None
            if explore_every > 0 and len(out) % explore_every == explore_every - 1:
                item = next((f for f in fresh_iter if f.id not in placed), None)
            if item is None:
                item = next(m for m in main_iter if m.id not in placed)
            placed.add(item.id)
            out.append(item)
        result.extend(out)
        result.extend(item for item in side if item.demoted)
    return result


# --- Batch counting (training and evaluation) -----------------------------------------------


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


def net_likes(events: Events, n_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visitor, image, net likes) per pair: a dislike undoes at most the likes given before it
    (counted, not ordered: a like-dislike-like sequence nets one like, like the live counters)."""
    mask = events.kind != IMPRESSION
    pair = events.visitor[mask].astype(np.int64) * n_images + events.image[mask]
    clicks = (events.kind[mask] == CLICK).astype(np.int64)
    uniq, inverse = np.unique(pair, return_inverse=True)
    c = np.bincount(inverse, weights=clicks, minlength=len(uniq))
    d = np.bincount(inverse, weights=1 - clicks, minlength=len(uniq))
    net = c - np.minimum(c, d)
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


def fit_params(table: FeedbackTable, *, defaults: Params, min_impressions: int = 20) -> Params:
    """Method-of-moments prior strengths: how much real images (and segments) differ from their
    key's (image's) rate beyond binomial noise. Falls back to the defaults when data is thin."""

    def strength(likes, shown, prior_rate, fallback):
        keep = shown >= min_impressions
        if keep.sum() < 20:
            return fallback
        rate = likes[keep] / shown[keep]
        prior = prior_rate[keep]
        noise = np.mean(prior * (1 - prior) / shown[keep])
        spread = np.mean((rate - prior) ** 2) - noise
        if spread <= 1e-6:
            return 1000.0
        value = float(np.mean(prior * (1 - prior)) / spread - 1)
        return float(np.clip(value, 1.0, 1000.0))

    n_all, l_all = table.img_n[0].astype(float), np.maximum(table.img_l[0], 0).astype(float)
    total_n = max(table.key_n[0].sum(), 1)
    base = float(np.clip(np.maximum(table.key_l[0], 0).sum() / total_n, 0.01, 0.99)) if table.key_n[0].sum() else defaults.base_rate
    image_strength = strength(l_all, n_all, np.full_like(n_all, base), defaults.image_strength)
    rate_all = (l_all + image_strength * base) / (n_all + image_strength)
    seg_l = np.maximum(table.img_l[1:], 0).astype(float).ravel()
    seg_n = table.img_n[1:].astype(float).ravel()
    seg_prior = np.tile(rate_all, max(len(table.segments) - 1, 0))
    segment_strength = strength(seg_l, seg_n, seg_prior, defaults.segment_strength) if len(seg_n) else defaults.segment_strength
    return Params(
        **{
            **defaults.as_dict(),
            "base_rate": base,
            "image_strength": image_strength,
            "segment_strength": segment_strength,
        }
    )


def standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def unique_index(values: Iterable) -> dict:
    return {value: index for index, value in enumerate(dict.fromkeys(values))}
