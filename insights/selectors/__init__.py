"""What the insights page reads: rollup rows only (never the raw interactions), as charts with tables.

Every chart is a few GROUP BYs over the rollups of the chosen date range (hundreds to thousands
of rows whatever the traffic), and the prune list reads ImageTotal through its interval indexes.
Charts by topic: ``visitors``, ``feedback`` (likes, impressions, the prune list), ``operations``
(the recommender in production, generation); above them, ``coverage`` (images per emotion ×
favorite against the target, empty and fallback gardens) and the headline numbers against the
previous period; filters and helpers in ``common``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_noop

from garden.keys import EMOTIONS
from insights.charts import Chart
from insights.models import RollupState
from insights.selectors.common import HOURLY_MAX_DAYS, MAX_DAYS, Filters, parse_filters
from insights.selectors.coverage import Coverage, coverage, headline
from insights.selectors.feedback import best_images, emotion_feedback, key_feedback, prune_baseline, prune_list, worst_images
from insights.selectors.operations import generation_failures, generation_images, generation_times, ranker_time, rankers
from insights.selectors.visitors import likers, segments, visitors

__all__ = [
    "EMOTIONS",
    "HOURLY_MAX_DAYS",
    "MAX_DAYS",
    "Coverage",
    "Filters",
    "chart",
    "coverage",
    "dashboard",
    "headline",
    "parse_filters",
    "prune_baseline",
    "prune_list",
]


CHARTS: dict[str, Callable[[Filters], Chart]] = {
    "visitors": visitors,
    "segments": segments,
    "likers": likers,
    "emotion-feedback": emotion_feedback,
    "key-feedback": key_feedback,
    "best-images": best_images,
    "worst-images": worst_images,
    "rankers": rankers,
    "ranker-time": ranker_time,
    "generation-images": generation_images,
    "generation-failures": generation_failures,
    "generation-times": generation_times,
}
# The section titles are marked for the catalogs here and translated where the page shows them.
SECTIONS = (
    (gettext_noop("Visitors"), ("visitors", "segments", "likers")),
    (gettext_noop("Likes and impressions"), ("emotion-feedback", "key-feedback")),
    (gettext_noop("Prune list"), ("best-images", "worst-images")),
    (gettext_noop("The recommender in production"), ("rankers", "ranker-time")),
    (gettext_noop("Generation"), ("generation-images", "generation-failures", "generation-times")),
)


def chart(*, chart_id: str, filters: Filters) -> Chart | None:
    build = CHARTS.get(chart_id)
    return build(filters) if build else None


def dashboard(*, filters: Filters) -> dict:
    """The headline numbers, the coverage grid, the prune list, every section's charts, and how
    fresh the rollups are. The prune list's images are read once, for its list and its charts."""
    baseline = prune_baseline(filters)
    prune = {"worst": prune_list(filters, best=False, baseline=baseline), "best": prune_list(filters, best=True, baseline=baseline)}
    built = {"best-images": lambda f: best_images(f, prune["best"]), "worst-images": lambda f: worst_images(f, prune["worst"])}
    charts = {chart_id: built.get(chart_id, build)(filters) for chart_id, build in CHARTS.items()}
    return {
        "headline": headline(filters),
        "coverage": coverage(filters),
        "prune": prune,
        "prune_baseline": baseline,
        "sections": [(title, [charts[chart_id] for chart_id in ids]) for title, ids in SECTIONS],
        "charts": [c.as_json() for c in charts.values()],
        "state": RollupState.objects.filter(pk=1).first(),
    }
