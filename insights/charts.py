"""What a dashboard chart is: its series for the browser, and the same numbers as a table and CSV.

The table is the chart's numbers as text, and the CSV is that table cell for cell (the image
column gives the image key), so what an operator downloads is exactly what they read.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

Z_95 = 1.959964


@dataclass(frozen=True)
class Cell:
    text: str
    href: str = ""  # a link (an image's admin page)
    thumb: str = ""  # a thumbnail shown beside the text


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def add(self, *values: object) -> None:
        self.rows.append([value if isinstance(value, Cell) else Cell(str(value)) for value in values])


@dataclass
class Chart:
    id: str
    title: str
    note: str
    kind: str  # "bar" or "line"
    labels: list[str]
    datasets: list[dict]  # {"label": str, "data": [number | [low, high] | None], optional "type": "line"}
    table: Table
    stacked: bool = False
    horizontal: bool = False
    unit: str = ""  # "%", "s" or "" (counts): the value axis

    @property
    def has_data(self) -> bool:
        return any(value not in (None, 0) for dataset in self.datasets for value in dataset["data"])

    def as_json(self) -> dict:
        """What insights.js draws (passed with json_script: no inline code)."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "labels": self.labels,
            "datasets": self.datasets,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "unit": self.unit,
        }


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([cell.text for cell in row])
    return buffer.getvalue()


def percent(part: float, whole: float) -> float | None:
    """A share in percent, one decimal; None when there is nothing to divide by."""
    return round(100.0 * part / whole, 1) if whole else None


def percent_text(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def seconds_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def wilson(likes: int, impressions: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a like-rate: honest for small counts (0/3 is not "0 %")."""
    if impressions <= 0:
        return 0.0, 1.0
    p = min(likes, impressions) / impressions
    denominator = 1 + z * z / impressions
    centre = (p + z * z / (2 * impressions)) / denominator
    spread = z * math.sqrt(p * (1 - p) / impressions + z * z / (4 * impressions * impressions)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)
