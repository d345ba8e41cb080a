"""result.xlsx: the round's tables as sheets a committee can filter and print — Chinese +
English headers, money as yuan with two decimals next to the exact fen, same bytes for the
same result.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from service.round.report_summary import NOT_IN_ROUND, notices, summary
from service.round.report_tables import Cell, Column, Table, all_tables, make_columns
from service.round.report_text import Yuan
from venture.v1 import round_pb2

_FORMATS = {
    ".1f": "0.0",
    ".2f": "0.00",
    ".3f": "0.000",
    "+.2f": "+0.00;-0.00;0.00",
    ".0%": "0%",
    ".1%": "0.0%",
    "yuan": "#,##0.00",
}
_HEADER_FILL = PatternFill("solid", fgColor="EDF2F7")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DATES = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
MAX_WIDTH = 60


def _headers(columns: Sequence[Column]) -> list[tuple[str, str]]:
    """(header, number format) per sheet column; a money column becomes yuan and fen."""
    out = []
    for c in columns:
        out.append((f"{c.zh} {c.en}", _FORMATS.get(c.number_format, "General")))
        if c.number_format == "yuan":
            out.append((f"{c.zh.replace('元', '分')} {c.en.replace('yuan', 'fen')}", "0"))
    return out


def _values(row: Sequence[Cell], columns: Sequence[Column]) -> list[str | int | float | None]:
    out: list[str | int | float | None] = []
    for value, column in zip(row, columns, strict=True):
        if column.number_format == "yuan":
            money = value if isinstance(value, Yuan) else None
            out += [money.yuan if money else None, money.fen if money else None]
        else:
            out.append(value if not isinstance(value, Yuan) else value.yuan)
    return out


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fill(
    sheet: Worksheet, headers: list[tuple[str, str]], rows: list[list[str | int | float | None]]
) -> None:
    sheet.append([h for h, _ in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [_width(h) for h, _ in headers]
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for index, cell in enumerate(sheet[sheet.max_row]):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
                widths[index] = max(widths[index], _width(cell.value))
            else:
                cell.number_format = headers[index][1]
                widths[index] = max(widths[index], 12)
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"


def _table_sheet(workbook: Workbook, table: Table) -> None:
    sheet = workbook.create_sheet(table.key)
    headers = _headers(table.columns)
    rows = [_values(row, table.columns) for row in table.rows]
    if not table.present:
        rows = [[NOT_IN_ROUND] + [None] * (len(headers) - 1)]
    _fill(sheet, headers, rows)
    if rows:
        sheet.auto_filter.ref = sheet.dimensions


def _round_sheet(
    sheet: Worksheet,
    request: round_pb2.OptimizeRoundRequest,
    response: round_pb2.OptimizeRoundResponse,
) -> None:
    sheet.title = "round"
    lines: list[list[str | int | float | None]] = [[k, v] for k, v in summary(request, response)]
    found = notices(response)
    lines += [["提示 notice", " · ".join(str(c) for c in row if c)] for row in found.rows]
    _fill(sheet, _headers(make_columns(("项目", "item"), ("内容", "value"))), lines)


def _repack(data: bytes) -> bytes:
    """The same archive without save-time dates, so equal results give equal files."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _DATES.sub(b"", content)
            target.writestr(
                zipfile.ZipInfo(info.filename, _ZIP_TIME), content, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


def workbook_bytes(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> bytes:
    """The whole workbook: a round sheet, then one sheet per table."""
    workbook = Workbook()
    first = workbook.active
    assert isinstance(first, Worksheet)  # a new workbook has one sheet
    workbook.properties.creator = "venture"
    workbook.properties.title = request.display_name or response.round_id
    _round_sheet(first, request, response)
    for table in all_tables(request, response):
        _table_sheet(workbook, table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _repack(buffer.getvalue())
