"""The gardener's report (reads only): keys against their target, actions over time, and how bred
pictures are liked against their parents and against fresh ones, with uncertainty.

Like-rates are pooled over a group's images among everyone (segment ``*``): likes (net of
dislikes) / impressions, with a 95 % interval from the Beta(1 + likes, 1 + impressions − likes)
posterior (its quantile function, ``scipy.special.betaincinv``). Pooling weighs each image by how
often it was shown, which is what visitors experienced; an image never shown adds nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

# scipy.special, not scipy.stats: the same Beta functions (equal values) without the half second
# scipy.stats adds to every Django process's start (this module loads with the admin).
from scipy.special import betaincinv

from garden.models import EMOTION_LABELS, Image
from gardener import selectors
from gardener.models import GardenerAction
from gardener.retirement import Counts
from recommend.models import ImageStat

DAYS = 14
THINNEST = 20
# Who may read the report: the log's readers (curators) and analysts (the insights page's viewers).
REPORT_PERMISSIONS = ("gardener.view_gardeneraction", "insights.view_dashboard")


@dataclass(frozen=True)
class Rate:
    group: str
    images: int
    impressions: int
    likes: int

    @property
    def rate(self) -> float | None:
        return self.likes / self.impressions if self.impressions else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.impressions:
            return None
        a, b = 1 + self.likes, 1 + self.impressions - self.likes
        return float(betaincinv(a, b, 0.025)), float(betaincinv(a, b, 0.975))


def _pooled(group: str, image_ids: set[int]) -> Rate:
    impressions = likes = 0
    rows = ImageStat.objects.filter(segment="*", image_id__in=list(image_ids)).values_list("impressions", "likes", "dislikes")
    for n, liked, disliked in rows:
        counts = Counts.of(impressions=n, likes=liked, dislikes=disliked)
        impressions, likes = impressions + counts.impressions, likes + counts.likes
    return Rate(group, len(image_ids), impressions, likes)


def like_rates() -> list[Rate]:
    """Bred pictures, their parents, and the gardener's fresh pictures (any status: retired ones count)."""
    bred: set[int] = set()
    parents: set[int] = set()
    for image_id, parameters in Image.objects.bred().values_list("id", "parameters"):
        bred.add(image_id)
        parents.update(int(p) for p in (parameters.get("lineage") or {}).get("parents", []))
    made = set(Image.objects.all_pictures().filter(generation_jobs__in=selectors.gardener_jobs()).values_list("id", flat=True))
    return [
        _pooled(gettext("bred"), bred),
        _pooled(gettext("their parents"), parents),
        _pooled(gettext("fresh (gardener, not bred)"), made - bred),
    ]


def actions_by_day(now=None) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """(kinds, [(day, count per kind)]) for the last DAYS days, newest first."""
    now = now or timezone.now()
    start = selectors.day_start(now) - timedelta(days=DAYS - 1)
    rows = (
        GardenerAction.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day", "kind")
        .annotate(n=Count("id"))
    )
    by_day: dict[str, Counter] = defaultdict(Counter)
    for day, kind, n in rows:
        by_day[day.isoformat()][kind] += n
    kinds = list(GardenerAction.Kind.values)
    days = [(selectors.day_start(now) - timedelta(days=d)).date().isoformat() for d in range(DAYS)]
    return kinds, [(day, [by_day[day][kind] for kind in kinds]) for day in days]


@dataclass(frozen=True)
class EmotionCoverage:
    emotion: str
    enabled: bool
    keys: int
    at_target: int
    below_target: int
    below_minimum: int
    serving: int

    @property
    def label(self) -> str:
        return str(EMOTION_LABELS.get(self.emotion, self.emotion))


def coverage() -> tuple[list[EmotionCoverage], list[tuple[str, int, int, int]]]:
    """Per emotion: kiosk keys at, below the target and below the minimum; and the thinnest keys
    of the emotions the gardener tends as (search key, serving, target, minimum)."""
    policies = selectors.key_policies()
    serving = selectors.serving_counts()
    per_emotion: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    thin = []
    for emotion, favorite in selectors.kiosk_keys():
        p, n = policies[emotion], serving.get((emotion, favorite), 0)
        row = per_emotion[emotion]
        row[0] += 1
        row[1 if n >= p.target else 2] += 1
        row[3] += n < p.minimum
        row[4] += n
        if p.enabled and n < p.target:
            thin.append((f"{emotion}/{favorite}" if favorite else emotion, n, p.target, p.minimum))
    thin.sort(key=lambda t: (t[1] - t[2], t[0]))
    rows = [EmotionCoverage(e, policies[e].enabled, *per_emotion[e]) for e in policies]
    return rows, thin[:THINNEST]


def may_read(user) -> bool:
    return any(user.has_perm(name) for name in REPORT_PERMISSIONS)


def report_context() -> dict:
    """Everything the report's tables show (the report page and the insights page's section)."""
    emotions, thinnest = coverage()
    kinds, days = actions_by_day()
    return {
        "emotions": emotions,
        "thinnest": thinnest,
        "kinds": [GardenerAction.Kind(kind).label for kind in kinds],
        "days": days,
        "rates": like_rates(),
        "policy": selectors.global_policy(),
    }


def dashboard_section(request) -> str | None:
    """The report's tables as a section of the insights page (config.dashboard), for whoever may
    read the report; None for anyone else."""
    if not may_read(request.user):
        return None
    return render_to_string("admin/gardener/report_tables.html", {**report_context(), "in_dashboard": True}, request=request)
