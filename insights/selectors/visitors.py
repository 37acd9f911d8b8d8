"""Visitor charts: visitors per hour or day by apparent expression, age/gender segments, who liked anything."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from garden.models import Visitor
from insights.charts import Chart, Table, percent, percent_text
from insights.models import Granularity, VisitorRollup
from insights.selectors.common import UNKNOWN, Filters, day_of, emotion_order, in_range


def visitors(filters: Filters) -> Chart:
    hourly = filters.by == Granularity.HOUR
    rows = in_range(VisitorRollup.objects.filter(granularity=filters.by), filters).values("bucket", "emotion").annotate(n=Sum("visitors"))
    if hourly:
        buckets, moment = [], timezone.localtime(filters.start_at)
        last = min(filters.end_at, timezone.now())
        while moment < last:
            buckets.append(moment.strftime("%Y-%m-%d %H:00"))
            moment = timezone.localtime(moment + timedelta(hours=1))
    else:
        buckets = [day.isoformat() for day in filters.days]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        local = timezone.localtime(row["bucket"])
        counts[(local.strftime("%Y-%m-%d %H:00") if hourly else local.date().isoformat(), row["emotion"])] += row["n"]
    emotions = emotion_order(emotion for _, emotion in counts)
    table = Table([_("hour") if hourly else _("day"), *[e or UNKNOWN for e in emotions], _("total")])
    for bucket in buckets:
        values = [counts.get((bucket, e), 0) for e in emotions]
        table.add(bucket, *values, sum(values))
    return Chart(
        id="visitors",
        title=_("Visitors per hour, by apparent expression") if hourly else _("Visitors per day, by apparent expression"),
        note=_("Distinct visitors with an /emotion reading or a kiosk event in the period, by their last apparent expression."),
        kind="bar",
        stacked=True,
        labels=buckets,
        datasets=[{"label": e or UNKNOWN, "data": [counts.get((b, e), 0) for b in buckets]} for e in emotions],
        table=table,
    )


def segments(filters: Filters) -> Chart:
    rows = (
        in_range(VisitorRollup.objects.filter(granularity=Granularity.DAY), filters)
        .values("age_group", "gender")
        .annotate(n=Sum("visitors"))
    )
    counts = {(row["age_group"] or UNKNOWN, row["gender"] or UNKNOWN): row["n"] for row in rows}
    age_groups = [g for g in [*Visitor.AgeGroup.values, UNKNOWN] if any(key[0] == g for key in counts)]
    genders = [g for g in ("Female", "Male", UNKNOWN) if any(key[1] == g for key in counts)]
    genders += sorted({key[1] for key in counts} - set(genders))
    table = Table([_("generation"), *genders, _("total")])
    for age_group in age_groups:
        values = [counts.get((age_group, gender), 0) for gender in genders]
        table.add(age_group, *values, sum(values))
    return Chart(
        id="segments",
        title=_("Visitors by apparent age group and gender"),
        note=_("Visitor-days in the range (someone who comes back on another day counts again); derived labels only."),
        kind="bar",
        labels=age_groups,
        datasets=[{"label": gender, "data": [counts.get((g, gender), 0) for g in age_groups]} for gender in genders],
        table=table,
    )


def likers(filters: Filters) -> Chart:
    rows = (
        in_range(VisitorRollup.objects.filter(granularity=Granularity.DAY), filters)
        .values("bucket")
        .annotate(n=Sum("visitors"), liked=Sum("likers"))
    )
    by_day = {day_of(row["bucket"]).isoformat(): (row["n"], row["liked"]) for row in rows}
    labels = [day.isoformat() for day in filters.days]
    table = Table([_("day"), _("visitors"), _("liked anything"), _("share")])
    for label in labels:
        n, liked = by_day.get(label, (0, 0))
        table.add(label, n, liked, percent_text(percent(liked, n)))
    return Chart(
        id="likers",
        title=_("Visitors who liked anything"),
        note=_("Per day: visitors, and those of them who liked at least one image that day."),
        kind="bar",
        labels=labels,
        datasets=[
            {"label": _("visitors"), "data": [by_day.get(label, (0, 0))[0] for label in labels]},
            {"label": _("liked anything"), "data": [by_day.get(label, (0, 0))[1] for label in labels]},
        ],
        table=table,
    )
