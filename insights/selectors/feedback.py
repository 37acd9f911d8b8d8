"""Feedback charts: like-rate per emotion over time, per search key, and the prune list of images."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from garden.queries import serving_through
from insights.charts import Cell, Chart, Table, percent, percent_text
from insights.models import FeedbackRollup, ImageTotal
from insights.selectors.common import (
    INTERVAL,
    INTERVAL_HIGH,
    INTERVAL_LOW,
    PRUNE_LIST,
    TOP_KEYS,
    Filters,
    day_of,
    emotion_order,
    in_range,
    rate,
    rate_cells,
)

# --- Likes, impressions, like-rate ----------------------------------------------------------------


def emotion_feedback(filters: Filters) -> Chart:
    rows = in_range(FeedbackRollup.objects, filters).values("bucket", "emotion").annotate(n=Sum("impressions"), liked=Sum("likes"))
    counts = {(day_of(row["bucket"]).isoformat(), row["emotion"]): (row["n"], row["liked"]) for row in rows}
    labels = [day.isoformat() for day in filters.days]
    emotions = emotion_order(emotion for _, emotion in counts)
    table = Table([_("day"), _("emotion"), _("impressions"), _("likes"), _("like-rate")])
    for label in labels:
        for emotion in emotions:
            if (label, emotion) in counts:
                n, liked = counts[(label, emotion)]
                table.add(label, emotion, n, liked, percent_text(percent(liked, n)))
    return Chart(
        id="emotion-feedback",
        title=_("Like-rate per emotion over time"),
        note=_("Likes per image shown, by the emotion of the garden shown (its search key's emotion)."),
        kind="line",
        unit="%",
        labels=labels,
        datasets=[{"label": emotion, "data": [rate(counts.get((label, emotion))) for label in labels]} for emotion in emotions],
        table=table,
    )


def key_feedback(filters: Filters) -> Chart:
    rows = list(
        in_range(FeedbackRollup.objects, filters)
        .values("search_key")
        .annotate(n=Sum("impressions"), liked=Sum("likes"), disliked=Sum("dislikes"))
        .order_by("-n", "search_key")
    )
    table = Table([_("search key"), _("impressions"), _("likes"), _("dislikes"), _("like-rate"), _(INTERVAL_LOW), _(INTERVAL_HIGH)])
    for row in rows:
        table.add(row["search_key"], row["n"], row["liked"], row["disliked"], *rate_cells(row["liked"], row["n"]))
    top = rows[:TOP_KEYS]
    return Chart(
        id="key-feedback",
        title=_("Likes and impressions per search key"),
        note=_("Chart: the %(top)d most shown search keys' like-rates; the table lists every key.") % {"top": TOP_KEYS},
        kind="bar",
        horizontal=True,
        unit="%",
        labels=[row["search_key"] for row in top],
        datasets=[{"label": _("like-rate"), "data": [percent(row["liked"], row["n"]) for row in top]}],
        table=table,
    )


# --- The prune list ---------------------------------------------------------------------------------


def _thumbnail(image) -> str:
    if image.thumbnail_key:
        return default_storage.url(image.thumbnail_key)
    return reverse("admin:garden_image_thumbnail", args=[image.pk])  # rendered on first view


@dataclass(frozen=True)
class PruneEntry:
    """One image of the prune list, as the page shows it (thumbnail, key, numbers)."""

    image_id: int
    key: str
    thumb: str
    href: str
    emotion: str
    impressions: int
    likes: int
    like_rate: float
    like_low: float
    like_high: float

    @property
    def folder(self) -> str:
        return self.key.rpartition("/")[0] + "/"

    @property
    def file(self) -> str:
        return self.key.rpartition("/")[2]

    @property
    def rates(self) -> tuple[str, str, str]:
        return rate_cells(self.likes, self.impressions)


def _shown_totals(filters: Filters):
    totals = ImageTotal.objects.filter(serving_through("image"), impressions__gt=0)
    return totals.filter(emotion=filters.emotion) if filters.emotion else totals


def prune_baseline(filters: Filters) -> float | None:
    """The like-rate of every serving image shown (within the emotion filter), over all kept history:
    the bar the prune list holds each image to. None when nothing was shown."""
    sums = _shown_totals(filters).aggregate(likes=Sum("likes"), impressions=Sum("impressions"))
    return sums["likes"] / sums["impressions"] if sums["impressions"] else None


def prune_list(filters: Filters, *, best: bool, baseline: float | None = None) -> list[PruneEntry]:
    """The serving images surely better (or surely worse) than the garden's like-rate, over all kept
    history: the whole 95% interval above ``baseline`` (or below it), ranked by its lower (upper)
    bound. With little evidence an image is in neither list: a picture with no like is never "most
    liked", one liked 4 times out of 4 never a prune candidate. ``baseline``: prune_baseline()."""
    baseline = prune_baseline(filters) if baseline is None else baseline
    if baseline is None:
        return []
    totals = _shown_totals(filters)
    totals = totals.filter(like_low__gt=baseline) if best else totals.filter(like_high__lt=baseline)
    order = ("-like_low", "-impressions", "image_id") if best else ("like_high", "-impressions", "image_id")
    picked = (
        totals.select_related("image")
        .only("image__key", "image__thumbnail_key", "emotion", "impressions", "likes", "like_rate", "like_low", "like_high")
        .order_by(*order)[:PRUNE_LIST]
    )
    return [
        PruneEntry(
            image_id=total.image_id,
            key=total.image.key,
            thumb=_thumbnail(total.image),
            href=reverse("admin:garden_image_change", args=[total.image_id]),
            emotion=total.emotion,
            impressions=total.impressions,
            likes=total.likes,
            like_rate=total.like_rate,
            like_low=total.like_low,
            like_high=total.like_high,
        )
        for total in picked
    ]


def _images_chart(filters: Filters, *, best: bool, picked: list[PruneEntry] | None = None) -> Chart:
    picked = prune_list(filters, best=best) if picked is None else picked
    table = Table([_("image"), _("emotion"), _("impressions"), _("likes"), _("like-rate"), _(INTERVAL_LOW), _(INTERVAL_HIGH)])
    for entry in picked:
        link = Cell(entry.key, href=entry.href, thumb=entry.thumb)
        table.add(link, entry.emotion, entry.impressions, entry.likes, *entry.rates)
    return Chart(
        id="best-images" if best else "worst-images",
        title=_("The most liked serving images") if best else _("The least liked serving images"),
        note=(
            # xgettext:no-python-format
            _("All kept history (not the date range). Ranked by the 95% interval's lower bound: surely good, not lucky.")
            if best
            # xgettext:no-python-format
            else _("All kept history (not the date range). Ranked by the 95% interval's upper bound: surely weak, the prune candidates.")
        ),
        kind="bar",
        horizontal=True,
        unit="%",
        labels=[f"#{entry.image_id} {entry.file}" for entry in picked],
        datasets=[
            {"label": _(INTERVAL), "data": [[round(100 * t.like_low, 1), round(100 * t.like_high, 1)] for t in picked]},
            {"label": _("like-rate"), "type": "line", "data": [round(100 * t.like_rate, 1) for t in picked]},
        ],
        table=table,
    )


def best_images(filters: Filters, picked: list[PruneEntry] | None = None) -> Chart:
    return _images_chart(filters, best=True, picked=picked)


def worst_images(filters: Filters, picked: list[PruneEntry] | None = None) -> Chart:
    return _images_chart(filters, best=False, picked=picked)
