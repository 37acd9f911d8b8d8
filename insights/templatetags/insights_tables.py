"""``{% table_rows table %}``: a chart's table body in one pass; ``{% coverage_rows coverage %}``:
the coverage grid's.

A month of charts holds thousands of cells; rendering them with nested template loops took most
of the page's time (bench/insights.py), so the rows are joined here, every value escaped.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from insights.charts import Cell, Table
from insights.selectors.coverage import Coverage, CoverageCell

register = template.Library()


def _cell(cell: Cell) -> SafeString:
    if not cell.href:
        return format_html("<td>{}</td>", cell.text)
    if cell.thumb:
        return format_html(
            '<td><a href="{}"><img src="{}" alt="" loading="lazy"><span>{}</span></a></td>', cell.href, cell.thumb, cell.text
        )
    return format_html('<td><a href="{}"><span>{}</span></a></td>', cell.href, cell.text)


@register.simple_tag
def table_rows(table: Table) -> SafeString:
    return format_html_join("", "<tr>{}</tr>", ((SafeString("".join(_cell(cell) for cell in row)),) for row in table.rows))


def _coverage_cell(cell: CoverageCell) -> SafeString:
    marks = []
    if cell.empty:
        marks.append(format_html('<span class="coverage-empty">∅ {}</span>', cell.empty))
    if cell.fallback:
        marks.append(format_html('<span class="coverage-fallback">↪ {}</span>', cell.fallback))
    below = format_html('<span class="coverage-g">{}</span>', SafeString(" ".join(marks))) if marks else ""
    return format_html(
        '<td class="coverage-cell is-{}" data-emotion="{}" data-serving="{}" data-gardens="{}" data-empty="{}" data-fallback="{}"'
        ' title="{}"><span class="coverage-n">{}</span>{}</td>',
        cell.state,
        cell.emotion,
        cell.serving,
        cell.gardens,
        cell.empty,
        cell.fallback,
        cell.title,
        cell.serving,
        below,
    )


@register.simple_tag
def coverage_rows(coverage: Coverage) -> SafeString:
    """The coverage grid's body (65+ rows × 8 cells) in one pass, like ``table_rows``."""
    rows = []
    for row in coverage.rows:
        other = "" if row.kiosk else format_html(" <small>{}</small>", _("(not a kiosk value)"))
        cells = SafeString("".join(_coverage_cell(cell) for cell in row.cells))
        rows.append(
            format_html(
                '<tr class="{}" data-favorite="{}"><th scope="row">{}{}</th>{}</tr>',
                "" if row.kiosk else "is-other",
                row.label,
                row.label,
                other,
                cells,
            )
        )
    return SafeString("".join(rows))
