"""When a trial ends unjudged: the rules, free of the database (gardener.planning applies them).

A trial is a serving bred pair that visitors have not judged yet (fewer than the policy's
``retire_min_impressions`` impressions among everyone, picture and twin together). It holds one of
its key's ``trial_pairs`` places until it is judged, or until it counts as judged-weak, by the first
of three rules that holds:

1. **below the median**: it is unlikely to beat its key's median *m* already, on the counts it has:
   P(p < m) ≥ the policy's ``retire_probability`` under Beta(1 + likes, 1 + impressions − likes)
   (the retirement rule's posterior, gardener.retirement; *m* the key's median among everyone);
2. **passed over**: its key has served SCREENS_PER_IMPRESSION × ``retire_min_impressions`` screens
   since its promotion without it. /garden's exploration slot draws a challenger by its odds of
   beating the incumbent, so a child visitors skipped early is drawn ever more rarely: its own
   counts stop growing, while its key's traffic says how long it has had;
3. **patience**: TRIAL_PATIENCE after its promotion, the last resort (a key whose screens are no
   longer counted: Recommendation rows pruned by retention, or a trial promoted before they were).

A trial that ended no longer counts against ``trial_pairs`` (a new one can be bred), and it is the
first to make room while its key is above its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gardener.retirement import Counts, probability_below

TRIAL_PATIENCE = timedelta(days=7)
# Screens of its key without it, per impression a trial needs to be judged: with 4 trial pairs sharing
# the exploration slot (one place in three) a child that keeps its odds is shown about once in 12-15
# screens, so 10 per impression needed leaves it room; one skipped early falls further behind.
SCREENS_PER_IMPRESSION = 10

BELOW_MEDIAN, PASSED_OVER, PATIENCE = "below_median", "passed_over", "patience"


@dataclass(frozen=True)
class Trial:
    image_id: int  # one picture of the pair (the lower id); the making-room step takes its twin with it
    emotion: str
    favorite: str
    promoted_at: datetime | None
    counts: Counts  # the pair's, among everyone
    screens: int = 0  # /garden answers for its key since its promotion

    @property
    def key(self) -> tuple[str, str]:
        return (self.emotion, self.favorite)


@dataclass(frozen=True)
class Ending:
    """Why a trial ended unjudged, with what showed it (the retirement's log details)."""

    rule: str
    evidence: dict

    def describe(self) -> str:
        if self.rule == BELOW_MEDIAN:
            return f"P(like-rate < key median) {self.evidence['p_below_median']} before it was judged"
        if self.rule == PASSED_OVER:
            return f"unjudged after {self.evidence['screens']} screens of its key"
        return f"unjudged {TRIAL_PATIENCE.days} days after its promotion"


def ending(trial: Trial, *, median: float | None, min_impressions: int, threshold: float, now: datetime) -> Ending | None:
    """The first rule (module docstring) by which ``trial`` counts as judged-weak, or None."""
    if median is not None and trial.counts.impressions > 0:
        probability = probability_below(trial.counts, median)
        if probability >= threshold:
            return Ending(BELOW_MEDIAN, {"p_below_median": round(probability, 4), "key_median": round(median, 4)})
    if trial.screens - trial.counts.impressions >= SCREENS_PER_IMPRESSION * min_impressions:
        return Ending(PASSED_OVER, {"screens": trial.screens})
    if trial.promoted_at is not None and trial.promoted_at < now - TRIAL_PATIENCE:
        return Ending(PATIENCE, {"promoted_at": trial.promoted_at.isoformat()})
    return None


def endings(
    trials: list[Trial], *, medians: dict[tuple[str, str], float | None], rules: dict[str, tuple[int, float]], now: datetime
) -> dict[tuple[str, str], dict[int, Ending]]:
    """Per key, the trials that ended unjudged. ``rules``: emotion → (min impressions, probability)."""
    result: dict[tuple[str, str], dict[int, Ending]] = {}
    for trial in trials:
        min_impressions, threshold = rules[trial.emotion]
        end = ending(trial, median=medians.get(trial.key), min_impressions=min_impressions, threshold=threshold, now=now)
        if end is not None:
            result.setdefault(trial.key, {})[trial.image_id] = end
    return result


def open_pairs(trials: list[Trial], ended: dict[tuple[str, str], dict[int, Ending]]) -> dict[tuple[str, str], int]:
    """Per key, its trials still holding a place (not ended)."""
    result: dict[tuple[str, str], int] = {}
    for trial in trials:
        if trial.image_id not in ended.get(trial.key, {}):
            result[trial.key] = result.get(trial.key, 0) + 1
    return result
