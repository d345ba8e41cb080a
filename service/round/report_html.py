"""HTML building blocks of the report: tables with bilingual headers, figures that embed an
SVG as a data URL, sections and notes; every text goes through html.escape.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape

from service.round.report_summary import NOT_IN_ROUND
from service.round.report_tables import Cell, Table
from service.round.report_text import Yuan

RowClass = Callable[[tuple[Cell, ...]], str]


def _cell(value: Cell, number_format: str) -> tuple[str, str]:
    """(text, css class) of one table cell."""
    if value is None:
        return "—", "none"
    if isinstance(value, Yuan):
        return str(value), "num"
    if isinstance(value, float):
        return format(value, number_format or ".2f"), "num"
    if isinstance(value, int):
        return str(value), "num"
    return value, "text" if len(value) > 30 else "short" if len(value) <= 16 else ""


def _attr(css: str) -> str:
    return f' class="{css}"' if css else ""


def table_html(table: Table, row_class: RowClass | None = None) -> str:
    """A table with bilingual headers, or a line saying why there is none."""
    if not table.present:
        return f'<p class="absent" id="table-{table.key}">{NOT_IN_ROUND}</p>'
    if not table.rows:
        return f'<p class="empty" id="table-{table.key}">无 none</p>'
    head = "".join(
        f"<th>{escape(c.zh)}<br><small>{escape(c.en)}</small></th>" for c in table.columns
    )
    body = []
    for row in table.rows:
        cells = []
        for value, column in zip(row, table.columns, strict=True):
            text, css = _cell(value, column.number_format)
            cells.append(f"<td{_attr(css)}>{escape(text)}</td>")
        body.append(f"<tr{_attr(row_class(row) if row_class else '')}>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table id="table-{table.key}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def figure(chart_id: str, svg: bytes, caption: str) -> str:
    data = base64.b64encode(svg).decode("ascii")
    return (
        f'<figure><img class="chart" id="{chart_id}" alt="{escape(caption)}" '
        f'src="data:image/svg+xml;base64,{data}"><figcaption>{escape(caption)}</figcaption>'
        "</figure>"
    )


def section(section_id: str, zh: str, en: str, *parts: str) -> str:
    heading = f"<h2>{escape(zh)} <small>{escape(en)}</small></h2>"
    return f'<section id="{section_id}">{heading}{"".join(parts)}</section>'


def h3(zh: str, en: str) -> str:
    return f"<h3>{escape(zh)} <small>{escape(en)}</small></h3>"


def note(text: str, css: str = "note") -> str:
    return f'<p class="{css}">{escape(text)}</p>'
