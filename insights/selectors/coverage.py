"""What an operator asks first: which emotion × favorite has too few images, how many gardens came
back empty or as a fallback, and the headline numbers against the previous period.

Coverage counts the serving images now (one GROUP BY over the serving images, by emotion and
favorite) beside the gardens served in the chosen range (GardenRollup). The favorites are the
kiosk's own values (garden.keys: every season × weather × time, and "any", which asks for the
emotion's images without a favorite), then any other favorite that has serving images or was
asked for: those images reach visitors only as another key's fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from garden.keys import EMOTIONS, FAVORITE_PARTS, search_key
from garden.models import Image
from insights.charts import Table, percent
from insights.models import FeedbackRollup, GardenRollup, Granularity, VisitorRollup
from insights.selectors.common import Filters, in_range

ANY = ""  # the kiosk's "Any": the bare emotion as search key
_PICKERS = (words for _part, words in FAVORITE_PARTS)
KIOSK_FAVORITES: tuple[str, ...] = (ANY, *(",".join(parts) for parts in product(*_PICKERS)))


CSV_COLUMNS = ["emotion", "favorite", "kiosk value", "serving images", "target", "gardens served", "fallback gardens", "empty gardens"]


def favorite_label(favorite: str) -> str:
    return "any" if favorite == ANY else favorite


@dataclass(frozen=True)
class CoverageCell:
    emotion: str
    favorite: str
    serving: int
    target: int
    gardens: int = 0
    fallback: int = 0
    empty: int = 0

    @property
    def under_target(self) -> bool:
        return self.serving < self.target

    @property
    def state(self) -> str:
        """ "none" (no image), "under" (fewer than the target) or "ok": the cell's colour."""
        return "none" if not self.serving else "under" if self.under_target else "ok"

    @property
    def title(self) -> str:
        words = {
            "key": search_key(self.emotion, self.favorite),
            "serving": self.serving,
            "target": self.target,
            "gardens": self.gardens,
            "fallback": self.fallback,
            "empty": self.empty,
        }
        if self.gardens:
            return (
                _(
                    "%(key)s: %(serving)d of %(target)d serving images; "
                    "%(gardens)d garden(s) served, %(fallback)d as a fallback, %(empty)d empty"
                )
                % words
            )
        return _("%(key)s: %(serving)d of %(target)d serving images") % words


@dataclass
class CoverageRow:
    favorite: str
    kiosk: bool  # one of the values kiosks send
    cells: list[CoverageCell]

    @property
    def label(self) -> str:
        return favorite_label(self.favorite)


@dataclass
class Coverage:
    emotions: list[str]
    target: int
    rows: list[CoverageRow] = field(default_factory=list)

    @property
    def cells(self) -> list[CoverageCell]:
        return [cell for row in self.rows for cell in row.cells]

    @property
    def under_target(self) -> int:
        return sum(cell.under_target for row in self.rows if row.kiosk for cell in row.cells)

    @property
    def kiosk_cells(self) -> int:
        return sum(len(row.cells) for row in self.rows if row.kiosk)

    @property
    def table(self) -> Table:
        """One row per cell (the CSV)."""
        table = Table(CSV_COLUMNS)
        for row in self.rows:
            for cell in row.cells:
                kiosk = "yes" if row.kiosk else "no"
                table.add(cell.emotion, row.label, kiosk, cell.serving, cell.target, cell.gardens, cell.fallback, cell.empty)
        return table


def coverage(filters: Filters) -> Coverage:
    """Serving images per emotion × favorite against INSIGHTS_TARGET_PER_KEY, and the gardens served
    for each in the range (how many empty, how many a fallback). Two queries."""
    target = max(1, int(settings.INSIGHTS_TARGET_PER_KEY))
    emotions = [filters.emotion] if filters.emotion else list(EMOTIONS)
    serving_rows = Image.objects.serving().filter(emotion__in=emotions).order_by()
    serving = {(e, f): n for e, f, n in serving_rows.values_list("emotion", "favorite").annotate(n=Count("id"))}
    gardens: dict[tuple[str, str], tuple[int, int, int]] = {}
    rollups = in_range(GardenRollup.objects, filters).values("search_key").annotate(n=Sum("gardens"), f=Sum("fallback"), e=Sum("empty"))
    for row in rollups:
        emotion, _, favorite = row["search_key"].partition("/")
        if emotion in emotions:
            gardens[(emotion, favorite)] = (row["n"], row["f"], row["e"])
    others = sorted(({f for _, f in serving} | {f for _, f in gardens}) - set(KIOSK_FAVORITES))
    result = Coverage(emotions=emotions, target=target)
    for favorite in (*KIOSK_FAVORITES, *others):
        cells = [CoverageCell(e, favorite, serving.get((e, favorite), 0), target, *gardens.get((e, favorite), (0, 0, 0))) for e in emotions]
        result.rows.append(CoverageRow(favorite=favorite, kiosk=favorite in KIOSK_FAVORITES, cells=cells))
    return result


# --- Headline numbers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    id: str
    label: str
    value: float | None
    previous: float | None
    unit: str = ""  # "%" for a rate (its change in points), "" for a count (its change in percent)
    higher_is_better: bool = True
    note: str = ""

    def _text(self, value: float | None) -> str:
        if value is None:
            return "–"
        # In the curator's language's number format (grouping, decimal mark).
        return f"{number_format(value, 1)}%" if self.unit == "%" else number_format(int(value), force_grouping=True)

    @property
    def value_text(self) -> str:
        return self._text(self.value)

    @property
    def previous_text(self) -> str:
        return self._text(self.previous)

    @property
    def trend(self) -> str:
        """ "up", "down", "flat", or "" when there is nothing to compare."""
        if self.value is None or self.previous is None:
            return ""
        return "up" if self.value > self.previous else "down" if self.value < self.previous else "flat"

    @property
    def change_text(self) -> str:
        """▲ 12.5% / ▼ 3.0 pts / = 0% ; "new" when the previous period had none."""
        if self.trend == "":
            return _("no comparison")
        assert self.value is not None and self.previous is not None
        arrow = {"up": "▲", "down": "▼", "flat": "="}[self.trend]
        if self.unit == "%":
            return _("%(arrow)s %(points)s pts") % {"arrow": arrow, "points": number_format(abs(self.value - self.previous), 1)}
        if not self.previous:
            return _("%(arrow)s new") % {"arrow": arrow} if self.value else "= 0%"
        return f"{arrow} {abs(percent(self.value - self.previous, self.previous) or 0.0):.1f}%"

    @property
    def verdict(self) -> str:
        """ "better", "worse" or "" (flat, or nothing to compare): the change's colour."""
        if self.trend in ("", "flat"):
            return ""
        return "better" if (self.trend == "up") == self.higher_is_better else "worse"


def previous_period(filters: Filters) -> Filters:
    """The period of the same length just before the chosen one (same emotion)."""
    length = (filters.end - filters.start).days + 1
    start, end = filters.start - timedelta(days=length), filters.start - timedelta(days=1)
    return Filters(start=start, end=end, emotion=filters.emotion, by=filters.by)


def headline(filters: Filters) -> dict:
    """This period against the previous one: visitors, likes, like-rate, gardens served, and the
    empty and fallback gardens. Three queries, each summing both periods at once."""
    before = previous_period(filters)
    both = Filters(start=before.start, end=filters.end, emotion=filters.emotion, by=filters.by)
    now, then = Q(bucket__gte=filters.start_at), Q(bucket__lt=filters.start_at)

    def sums(queryset, **fields) -> dict:
        aggregates = {}
        for name, column in fields.items():
            aggregates[f"{name}_now"] = Sum(column, filter=now)
            aggregates[f"{name}_then"] = Sum(column, filter=then)
        return {key: value or 0 for key, value in in_range(queryset, both).aggregate(**aggregates).items()}

    visitors = sums(VisitorRollup.objects.filter(granularity=Granularity.DAY), visitors="visitors")
    feedback = sums(FeedbackRollup.objects, likes="likes", impressions="impressions")
    gardens = sums(GardenRollup.objects, gardens="gardens", empty="empty", fallback="fallback")

    def rate(when: str) -> float | None:
        return percent(feedback[f"likes_{when}"], feedback[f"impressions_{when}"])

    def pair(values: dict, name: str) -> tuple[int, int]:
        return values[f"{name}_now"], values[f"{name}_then"]

    items = [
        Headline("visitors", _("Visitors"), *pair(visitors, "visitors"), note=_("visitor-days")),
        Headline("likes", _("Likes"), *pair(feedback, "likes")),
        Headline("like-rate", _("Like-rate"), rate("now"), rate("then"), unit="%", note=_("likes ÷ shown; change in points")),
        Headline("gardens", _("Gardens served"), *pair(gardens, "gardens"), note=_("/garden answers")),
        Headline("empty", _("Empty gardens"), *pair(gardens, "empty"), higher_is_better=False, note=_("no image at all")),
        Headline("fallback", _("Fallback gardens"), *pair(gardens, "fallback"), higher_is_better=False, note=_("other favorites added")),
    ]
    return {"items": items, "previous": before}
