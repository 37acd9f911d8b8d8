"""The retirement rule's maths, free of the database (gardener.services applies it).

An image's like-rate p has the posterior Beta(1 + likes, 1 + impressions − likes) under a uniform
prior. Its search key's median like-rate m is the median of the posterior means of the key's
serving images that have been judged (at least N impressions in that segment). The image is
retired when P(p < m) ≥ the policy's probability. P(p < m) is the Beta CDF at m, computed exactly
(the regularised incomplete beta function, ``scipy.special.betainc``), no Monte Carlo. m is taken
as known (a plug-in): its own uncertainty is not propagated, which is why at least MIN_PEERS judged
images are needed before a key's median counts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from scipy.special import betainc

# Fewer judged images than this in a key (and segment): no median worth comparing with, no retirement.
MIN_PEERS = 3


@dataclass(frozen=True)
class Counts:
    impressions: int
    likes: int

    @classmethod
    def of(cls, *, impressions: int, likes: int, dislikes: int = 0) -> Counts:
        # A dislike is an undone like (recommend.models.Interaction): the net likes count.
        return cls(impressions=max(0, impressions), likes=min(max(0, likes - dislikes), max(0, impressions)))

    @property
    def posterior_mean(self) -> float:
        return (1 + self.likes) / (2 + self.impressions)


def probability_below(counts: Counts, median: float) -> float:
    """P(like-rate < median) under Beta(1 + likes, 1 + impressions − likes), exactly."""
    return float(betainc(1 + counts.likes, 1 + counts.impressions - counts.likes, median))


def key_median(counts: list[Counts], *, min_impressions: int) -> float | None:
    """The median posterior mean of the judged images, or None with fewer than MIN_PEERS of them."""
    judged = [c.posterior_mean for c in counts if c.impressions >= min_impressions]
    return statistics.median(judged) if len(judged) >= MIN_PEERS else None


@dataclass(frozen=True)
class Verdict:
    segment: str
    impressions: int
    likes: int
    median: float
    probability: float
    fails: bool

    def as_json(self) -> dict:
        return {
            "segment": self.segment,
            "impressions": self.impressions,
            "likes": self.likes,
            "key_median": round(self.median, 4),
            "p_below_median": round(self.probability, 4),
            "fails": self.fails,
        }


def judge(counts: Counts, *, segment: str, median: float | None, min_impressions: int, threshold: float) -> Verdict | None:
    """The verdict within one segment, or None when the image or its key has too little data."""
    if median is None or counts.impressions < min_impressions:
        return None
    probability = probability_below(counts, median)
    return Verdict(segment, counts.impressions, counts.likes, median, probability, probability >= threshold)


def should_retire(verdicts: dict[str, Verdict]) -> bool:
    """Retire when it fails among everyone ("*"), or fails in every segment that has judged it.

    Retiring is global (the image leaves every segment's garden), so a single segment's dislike is
    not enough while another segment that saw it as often likes it as much as its peers.
    """
    if "*" in verdicts and verdicts["*"].fails:
        return True
    segments = [v for s, v in verdicts.items() if s != "*"]
    return bool(segments) and all(v.fails for v in segments)
