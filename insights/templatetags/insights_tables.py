"""``{% table_rows table %}``: a chart's table body in one pass.

A month of charts holds thousands of cells; rendering them with nested template loops took most
of the page's time (bench/insights.py), so the rows are joined here, every value escaped.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from insights.charts import Cell, Table

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
