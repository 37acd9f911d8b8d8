"""Operations charts: the recommender in production (by ranker and model version) and generation."""

from __future__ import annotations

from django.db.models import Sum
from django.utils.translation import gettext as _

from insights.charts import Chart, Table, percent, percent_text, seconds_text
from insights.models import JobRollup, RecommenderRollup
from insights.selectors.common import INTERVAL_HIGH, INTERVAL_LOW, Filters, day_of, in_range, rate_cells

# --- The recommender in production ------------------------------------------------------------------


def rankers(filters: Filters) -> Chart:
    rows = list(
        in_range(RecommenderRollup.objects, filters)
        .values("ranker")
        .annotate(
            gardens_n=Sum("gardens"),
            liked_n=Sum("gardens_liked"),
            n=Sum("impressions"),
            likes_n=Sum("likes"),
            explore_n=Sum("explore_impressions"),
            explore_likes_n=Sum("explore_likes"),
        )
        .order_by("ranker")
    )
    table = Table(
        [
            _("ranker"),
            _("gardens"),
            _("gardens with a like"),
            _("impressions"),
            _("likes"),
            _("like-rate"),
            _(INTERVAL_LOW),
            _(INTERVAL_HIGH),
            _("exploration share"),
            _("fresh images like-rate"),
            _("established images like-rate"),
        ]
    )
    for r in rows:
        established_n, established_likes = r["n"] - r["explore_n"], r["likes_n"] - r["explore_likes_n"]
        table.add(
            r["ranker"],
            r["gardens_n"],
            r["liked_n"],
            r["n"],
            r["likes_n"],
            *rate_cells(r["likes_n"], r["n"]),
            percent_text(percent(r["explore_n"], r["n"])),
            percent_text(percent(r["explore_likes_n"], r["explore_n"])),
            percent_text(percent(established_likes, established_n)),
        )
    return Chart(
        id="rankers",
        title=_("Like-rate of served gardens by ranker and model version"),
        note=_(
            "Likes and impressions attributed to a /garden answer (X-Recommendation-Id). Exploration share: impressions "
            "of fresh images, shown fewer than RECOMMEND_FRESH_IMPRESSIONS times before that day."
        ),
        kind="bar",
        unit="%",
        labels=[r["ranker"] for r in rows],
        datasets=[
            {"label": _("like-rate"), "data": [percent(r["likes_n"], r["n"]) for r in rows]},
            {"label": _("gardens with a like"), "data": [percent(r["liked_n"], r["gardens_n"]) for r in rows]},
        ],
        table=table,
    )


def ranker_time(filters: Filters) -> Chart:
    rows = (
        in_range(RecommenderRollup.objects, filters)
        .values("bucket", "ranker")
        .annotate(gardens_n=Sum("gardens"), n=Sum("impressions"), likes_n=Sum("likes"))
    )
    counts = {(day_of(r["bucket"]).isoformat(), r["ranker"]): r for r in rows}
    labels = [day.isoformat() for day in filters.days]
    names = sorted({ranker for _, ranker in counts})
    table = Table([_("day"), _("ranker"), _("gardens"), _("impressions"), _("likes"), _("like-rate")])
    for label in labels:
        for name in names:
            if (label, name) in counts:
                r = counts[(label, name)]
                table.add(label, name, r["gardens_n"], r["n"], r["likes_n"], percent_text(percent(r["likes_n"], r["n"])))
    return Chart(
        id="ranker-time",
        title=_("Like-rate by ranker over time"),
        note=_("A new model version shows as a new line from the day it served."),
        kind="line",
        unit="%",
        labels=labels,
        datasets=[
            {
                "label": name,
                "data": [
                    percent(counts[(label, name)]["likes_n"], counts[(label, name)]["n"]) if (label, name) in counts else None
                    for label in labels
                ],
            }
            for name in names
        ],
        table=table,
    )


# --- Generation -------------------------------------------------------------------------------------


def _engine(row: dict) -> str:
    return f"{row['backend']} · {row['model_id']}" if row["model_id"] else row["backend"]


def _generation_daily(filters: Filters) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    rows = (
        in_range(JobRollup.objects, filters)
        .values("bucket", "backend", "model_id")
        .annotate(jobs_n=Sum("jobs"), images_n=Sum("images"), failed_n=Sum("failed"), cancelled_n=Sum("cancelled"))
    )
    counts: dict[tuple[str, str], dict] = {(day_of(r["bucket"]).isoformat(), _engine(r)): r for r in rows}
    return [day.isoformat() for day in filters.days], sorted({engine for _, engine in counts}), counts


def generation_images(filters: Filters) -> Chart:
    labels, engines, counts = _generation_daily(filters)
    table = Table([_("day"), _("backend · model"), _("jobs"), _("images")])
    for label in labels:
        for engine in engines:
            if (label, engine) in counts:
                table.add(label, engine, counts[(label, engine)]["jobs_n"], counts[(label, engine)]["images_n"])
    return Chart(
        id="generation-images",
        title=_("Images generated per day, by backend and model"),
        note=_("Jobs counted on the day they finished."),
        kind="bar",
        stacked=True,
        labels=labels,
        datasets=[
            {"label": e, "data": [counts[(label, e)]["images_n"] if (label, e) in counts else 0 for label in labels]} for e in engines
        ],
        table=table,
    )


def generation_failures(filters: Filters) -> Chart:
    labels, engines, counts = _generation_daily(filters)
    table = Table([_("day"), _("backend · model"), _("jobs"), _("failed"), _("cancelled"), _("failure rate")])
    for label in labels:
        for engine in engines:
            if (label, engine) in counts:
                r = counts[(label, engine)]
                table.add(label, engine, r["jobs_n"], r["failed_n"], r["cancelled_n"], percent_text(percent(r["failed_n"], r["jobs_n"])))
    return Chart(
        id="generation-failures",
        title=_("Generation failure rate per day"),
        note=_("Failed jobs ÷ finished jobs (cancelled ones count as finished, not failed)."),
        kind="line",
        unit="%",
        labels=labels,
        datasets=[
            {
                "label": e,
                "data": [percent(counts[(d, e)]["failed_n"], counts[(d, e)]["jobs_n"]) if (d, e) in counts else None for d in labels],
            }
            for e in engines
        ],
        table=table,
    )


def generation_times(filters: Filters) -> Chart:
    rows = list(
        in_range(JobRollup.objects, filters)
        .values("backend", "model_id")
        .annotate(
            jobs_n=Sum("jobs"),
            succeeded_n=Sum("succeeded"),
            failed_n=Sum("failed"),
            cancelled_n=Sum("cancelled"),
            images_n=Sum("images"),
            wait=Sum("queue_wait_seconds"),
            waited=Sum("waited_jobs"),
            work=Sum("work_seconds"),
            timed=Sum("timed_images"),
        )
        .order_by("backend", "model_id")
    )
    columns = [
        _("backend"),
        _("model"),
        _("jobs"),
        _("succeeded"),
        _("failed"),
        _("cancelled"),
        _("failure rate"),
        _("images"),
        _("queue wait (s)"),
        _("time per image (s)"),
    ]
    table = Table(columns)
    waits = [r["wait"] / r["waited"] if r["waited"] else None for r in rows]
    per_image = [r["work"] / r["timed"] if r["timed"] else None for r in rows]
    for r, wait, work in zip(rows, waits, per_image, strict=True):
        failure = percent_text(percent(r["failed_n"], r["jobs_n"]))
        counts = (r["jobs_n"], r["succeeded_n"], r["failed_n"], r["cancelled_n"])
        table.add(r["backend"], r["model_id"], *counts, failure, r["images_n"], seconds_text(wait), seconds_text(work))
    return Chart(
        id="generation-times",
        title=_("Queue wait and time per image, by backend and model"),
        note=_(
            "Queue wait: started − created, per job. "
            "Time per image: generate + store + thumbnail seconds ÷ images (model loading excluded)."
        ),
        kind="bar",
        unit="s",
        labels=[_engine(r) for r in rows],
        datasets=[
            {"label": _("mean queue wait (s)"), "data": [None if w is None else round(w, 2) for w in waits]},
            {"label": _("time per image (s)"), "data": [None if w is None else round(w, 3) for w in per_image]},
        ],
        table=table,
    )
