"""Round files: an OptimizeRoundRequest as proto3 JSON, an Excel workbook or a folder of CSV
files, read into the same request and written so that reading gives the request back exactly.

Layout (sheets.py derives it from the request's descriptor, rows.py and parse.py fill it):

- "instructions" (说明) first, then "settings": a row per scalar of the round and of its
  singular messages by dotted path ("allocation_rules.total_budget_fen"), a "labels.KEY" row
  per label, and "options" = "{}" for a message that is set but holds only defaults.
- A sheet per list ("criteria", "proposals", "pools", ...), a row per element. A list inside
  an element gets a child sheet that starts with the parent's id ("weak_areas":
  organization_id, area, severity). Score sheets are the rows of "scores" (judge_id,
  proposal_id, criterion_id, value); a row without criterion and value is a sheet without
  scores. A CSV folder holds the same sheets as "<sheet>.csv" (UTF-8 with a BOM, for Excel).
- Headers are one row of "中文 / english_field" cells (or the field alone); only the English
  name after the last "/" is read. An empty cell is unset (an optional field given as 0 is
  set); enums by name; TRUE/FALSE; lists as "a; b" (a JSON array when an item needs it);
  times in proto3 JSON form; numbers a spreadsheet would round (integers of 16+ digits, floats
  needing 17 digits, -0.0, inf, nan) as text.

Not representable, so the writers raise ValueError: an element whose cells are all blank (it
would read back as no row), and two parents sharing a key when child rows refer to it.
"""

from __future__ import annotations

import csv
import re
import warnings
import zipfile
from pathlib import Path

import openpyxl
from google.protobuf import json_format
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from service.round import cells
from service.round.parse import CellProblem, RoundFileError, Sheets, parse_sheets
from service.round.rows import Row, request_rows
from service.round.sheets import SHEET_TITLES, Table, layout
from venture.v1 import round_pb2

__all__ = [
    "CellProblem",
    "RoundFileError",
    "read_round",
    "write_csv_folder",
    "write_template",
    "write_workbook",
]

# What an xlsx file cannot hold as such is written as Excel's _xHHHH_ escape (and so is a
# literal "_x0041_", as "_x005F_x0041_").
_XLSX_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_XLSX_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")


def read_round(path: Path) -> round_pb2.OptimizeRoundRequest:
    """The round in a .json file (proto3 JSON), an .xlsx workbook or a folder of CSV files."""
    if path.is_dir():
        return parse_sheets(*_csv_sheets(path))
    if not path.exists():
        raise _error("no such file or folder")
    if path.suffix.lower() == ".json":
        return _read_json(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return parse_sheets(_xlsx_sheets(path))
    raise _error("expected a .json file, an .xlsx workbook or a folder of CSV files")


def write_workbook(request: round_pb2.OptimizeRoundRequest, path: Path) -> None:
    """Every field of the request, as read_round reads it back."""
    sheets = request_rows(request)
    book = openpyxl.Workbook()
    first = book.active
    assert isinstance(first, Worksheet)
    first.title = "instructions"
    for line in _instructions():
        first.append(line)
    for letter, width in zip("ABC", (20, 64, 64), strict=True):
        first.column_dimensions[letter].width = width
    tables = {t.name: t for t in layout().sheets}
    for name, rows in sheets.items():
        _fill(book.create_sheet(name), rows, tables.get(name))
    book.save(path)


def write_csv_folder(request: round_pb2.OptimizeRoundRequest, path: Path) -> None:
    """The workbook's sheets as "<sheet>.csv" files (settings.csv too, no instructions)."""
    sheets = request_rows(request)
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in sheets.items():
        with (path / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerows([cells.text(c) for c in row] for row in rows)


def write_template(path: Path) -> None:
    """An empty workbook: instructions, every setting without a value, every sheet's headers."""
    write_workbook(round_pb2.OptimizeRoundRequest(), path)


def _error(message: str) -> RoundFileError:
    return RoundFileError([CellProblem("", 0, "", message)])


def _read_json(path: Path) -> round_pb2.OptimizeRoundRequest:
    try:
        return json_format.Parse(path.read_text(encoding="utf-8"), round_pb2.OptimizeRoundRequest())
    except (OSError, UnicodeDecodeError) as error:
        raise _error(f"cannot read: {error}") from None
    except json_format.ParseError as error:
        raise _error(f"not an OptimizeRoundRequest: {error}") from None


def _xlsx_sheets(path: Path) -> Sheets:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of the features it drops on reading
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, InvalidFileException) as error:
        raise _error(f"not an Excel workbook (.xlsx): {error}") from None
    try:
        return {
            sheet.title: [tuple(map(_unescape, row)) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _unescape(cell: object) -> cells.Raw:
    if isinstance(cell, str):
        return _XLSX_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), cell)
    return cell  # type: ignore[return-value]  # a number, bool, date or None, as openpyxl reads


def _escape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        found = match.group()
        return "_x005F" + found if found.startswith("_x") else f"_x{ord(found):04X}_"

    return _XLSX_ESCAPE.sub(one, text)


def _csv_sheets(folder: Path) -> tuple[Sheets, list[CellProblem]]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    if not files:
        raise _error("no CSV files in the folder (expected settings.csv, proposals.csv, ...)")
    sheets: Sheets = {}
    problems = []
    for file in files:
        try:
            with file.open(encoding="utf-8-sig", newline="") as text:
                sheets[file.stem] = [tuple(row) for row in csv.reader(text)]
        except UnicodeDecodeError:
            message = "not UTF-8 text; save it as CSV UTF-8 (CSV UTF-8（逗号分隔）)"
            problems.append(CellProblem(file.stem, 0, "", message))
        except (OSError, csv.Error) as error:
            problems.append(CellProblem(file.stem, 0, "", f"cannot read: {error}"))
    return sheets, problems


def _fill(sheet: Worksheet, rows: list[Row], table: Table | None) -> None:
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                sheet.cell(row=r, column=c, value=_escape(value)).data_type = "s"  # even "=..."
            elif value is not None:
                sheet.cell(row=r, column=c, value=value)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for c, header in enumerate(rows[0], start=1):
        width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(header))
        sheet.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 12), 48)
    if table is not None:
        _format_columns(sheet, table)


def _format_columns(sheet: Worksheet, table: Table) -> None:
    """Text format for text columns, so that Excel keeps an id such as "001" as typed, and a
    drop-down list of names for enum columns."""
    for c, column in enumerate(table.headers, start=1):
        letter = get_column_letter(c)
        field = column.field
        if field.type == field.TYPE_STRING:
            sheet.column_dimensions[letter].number_format = "@"
        elif field.enum_type is not None and not field.is_repeated:
            names = ",".join(v.name for v in field.enum_type.values)
            if len(names) <= 255:  # Excel's limit for a list typed into the rule
                check = DataValidation(type="list", formula1=f'"{names}"', allow_blank=True)
                check.showErrorMessage = False  # short names ("TRIMMED_MEAN") are fine too
                check.add(f"{letter}2:{letter}1048576")
                sheet.add_data_validation(check)


def _instructions() -> list[list[str]]:
    lines = [
        ["公益创投评审轮次", "Venture philanthropy round (venture.v1.OptimizeRoundRequest)"],
        [
            "表头 headers",
            "每张表第一行是表头“中文 / english_field”，只读取斜杠后的英文名；空行被忽略。",
            'Row 1 holds the headers "中文 / english_field"; only the English name is read. '
            "Blank rows are ignored.",
        ],
        [
            "取值 values",
            "空白表示未填写（不等于 0）。金额为整数，单位为分（1 元 = 100 分）。"
            "是/否填 TRUE/FALSE；选项填英文名，前缀可省略。",
            "Empty means not given (not 0). Money is whole fen (1 yuan = 100 fen). "
            "TRUE/FALSE for yes/no; choices by English name, prefix optional.",
        ],
        [
            "列表与时间 lists, times",
            "一格多个值用分号分隔：a; b。时间如 2026-03-01T09:00:00+08:00，"
            "日期单元格按北京时间；时长如 1.5s。",
            'Several values in one cell: "a; b". Times like 2026-03-01T09:00:00+08:00 '
            "(date cells are Beijing time); durations like 1.5s.",
        ],
        [
            "关联 links",
            "子表第一列填上级的编号（如 weak_areas 的 organization_id）；"
            "scores 每行是一位评委对一个项目一项指标的分数；settings 每行一个设置。",
            "A child sheet starts with its parent's id (weak_areas: organization_id). "
            "scores: one row per judge, proposal and criterion. settings: one row per setting.",
        ],
        [],
        ["sheet", "表 table", "字段 field"],
        ["settings", SHEET_TITLES["settings"], "options, scoring_policy, allocation_rules, ..."],
    ]
    lines.extend([t.name, SHEET_TITLES.get(t.name, ""), t.path] for t in layout().sheets)
    return lines
