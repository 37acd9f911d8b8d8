"""Shared by the insights selectors: the page's filters and the small helpers every chart uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop

from garden.keys import EMOTIONS
from insights.charts import percent, percent_text, wilson
from insights.models import Granularity

DEFAULT_DAYS = 30
MAX_DAYS = 366
HOURLY_MAX_DAYS = 14
TOP_KEYS = 20
PRUNE_LIST = 10
UNKNOWN = "unknown"
# The interval's column and legend names, translated where used (gettext). xgettext would read
# "95% l…" and "95% i…" as %-formats, so each is marked as none.
# xgettext:no-python-format
INTERVAL_LOW = gettext_noop("95% low")
# xgettext:no-python-format
INTERVAL_HIGH = gettext_noop("95% high")
# xgettext:no-python-format
INTERVAL = gettext_noop("95% interval")
EARLIEST, LATEST = date(2000, 1, 1), date(2200, 1, 1)


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    emotion: str = ""  # "" = every emotion
    by: str = Granularity.DAY  # visitors per hour or per day

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, datetime.min.time()))

    @property
    def end_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), datetime.min.time()))

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def as_query(self) -> dict[str, str]:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat(), "by": self.by}
        return {**query, "emotion": self.emotion} if self.emotion else query


def _date(value: object) -> date | None:
    """An ISO date between EARLIEST and LATEST (no overflow near date.max), else None."""
    try:
        parsed = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and EARLIEST <= parsed <= LATEST else None


def parse_filters(data: Mapping, *, today: date | None = None) -> Filters:
    """Filters from a query string; anything missing or malformed falls back to the last 30 days."""
    today = today or timezone.localdate()
    end = _date(data.get("end")) or today
    start = _date(data.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    emotion = data.get("emotion")
    by = Granularity.HOUR if data.get("by") == Granularity.HOUR and (end - start).days < HOURLY_MAX_DAYS else Granularity.DAY
    return Filters(start=start, end=end, emotion=emotion if emotion in EMOTIONS else "", by=by)


def day_of(moment: datetime) -> date:
    """The local date (TIME_ZONE) of a bucket."""
    return timezone.localtime(moment).date()


def in_range(queryset, filters: Filters, *, emotion_field: str = "emotion"):
    """Rollup rows whose bucket lies in the filters' dates (and of their emotion, when one is chosen)."""
    queryset = queryset.filter(bucket__gte=filters.start_at, bucket__lt=filters.end_at).order_by()
    return queryset.filter(**{emotion_field: filters.emotion}) if filters.emotion else queryset


def rate(counts: tuple[int, int] | None) -> float | None:
    """(impressions, likes) → like-rate in percent; None (a gap in a line) without impressions."""
    return percent(counts[1], counts[0]) if counts else None


def rate_cells(likes: int, impressions: int) -> tuple[str, str, str]:
    """Like-rate, and its 95% interval's bounds, as table text."""
    low, high = wilson(likes, impressions)
    if not impressions:
        return "", "", ""
    return percent_text(percent(likes, impressions)), percent_text(round(100 * low, 1)), percent_text(round(100 * high, 1))


def emotion_order(values) -> list[str]:
    """The emotions present, in garden order, unknown ("") last."""
    present = set(values)
    return [e for e in EMOTIONS if e in present] + ([""] if "" in present else [])
