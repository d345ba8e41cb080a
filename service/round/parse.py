"""Sheets of cells (from a workbook or CSV files) read into an OptimizeRoundRequest, with every
bad cell collected and reported by sheet, row and column rather than the first one raised.
"""

from __future__ import annotations

import collections
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from openpyxl.utils import get_column_letter

from service.round import cells
from service.round.rows import SETTING_COLUMNS
from service.round.sheets import SHEET_TITLES, Layout, Setting, Table, layout, walk
from venture.v1 import round_pb2

Sheets = dict[str, list[Sequence[cells.Raw]]]
"""Sheet name to its rows, header first, as read."""
Cells = dict[str, tuple[cells.Raw, str]]
"""A data row: English column name to (cell value, cell reference such as "F7")."""
_SHOWN = 10
_TEXT = round_pb2.OptimizeRoundRequest.DESCRIPTOR.fields_by_name["round_id"]


@dataclass(frozen=True, slots=True)
class CellProblem:
    """One bad cell, or a whole sheet when row is 0; rows are numbered as Excel shows them."""

    sheet: str
    row: int
    column: str
    """The column's English field name, or its letter when the header names no field."""
    message: str
    """What is wrong and what was expected."""
    cell: str = ""
    """The cell's reference, for example "F7", when known."""

    def __str__(self) -> str:
        where = [self.sheet] if self.sheet else []
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}" + (f" ({self.cell})" if self.cell else ""))
        return f"{', '.join(where)}: {self.message}" if where else self.message


class RoundFileError(Exception):
    """A round file that cannot be read; `problems` holds every problem found."""

    def __init__(self, problems: Sequence[CellProblem]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems[:_SHOWN]]
        if len(self.problems) > _SHOWN:
            lines.append(f"... and {len(self.problems) - _SHOWN} more")
        if len(lines) == 1:
            return lines[0]
        return f"{len(self.problems)} problems:\n  " + "\n  ".join(lines)


def parse_sheets(
    sheets: Sheets, problems: Sequence[CellProblem] = ()
) -> round_pb2.OptimizeRoundRequest:
    """The request the sheets hold; raises RoundFileError with `problems` and every bad cell."""
    return _Reader(list(problems)).read(sheets)


@dataclass
class _Reader:
    problems: list[CellProblem]
    sheet: str = ""
    seen: dict[str, int] = field(default_factory=dict)
    """Setting name to the row that gave it first."""

    def read(self, sheets: Sheets) -> round_pb2.OptimizeRoundRequest:
        shape = layout()
        known = ["settings", *(t.name for t in shape.sheets)]
        for name in sheets:
            if name not in (*known, "instructions", SHEET_TITLES["instructions"]):
                message = f"unknown sheet; expected {', '.join(known)}"
                self.problems.append(CellProblem(name, 0, "", message))
        request = round_pb2.OptimizeRoundRequest()
        self.sheet = "settings"
        for number, row in self._rows(SETTING_COLUMNS, sheets):
            self._setting(request, shape, number, row)
        elements: dict[str, list[tuple[Message, int]]] = {}
        for table in shape.tables:  # parents come before their children
            self.sheet = table.name
            rows = [] if table.hidden else self._rows([c.name for c in table.headers], sheets)
            if table.parent is None:
                elements[table.name] = [(self._element(table, n, row), n) for n, row in rows]
            else:
                self._attach(table, rows, elements[table.parent.name])
        for table in shape.tables:  # last, as extend copies: the children are attached by now
            if table.parent is None and elements[table.name]:
                container = getattr(walk(request, table.prefix), table.field.name)
                container.extend(m for m, _ in elements[table.name])
        if self.problems:
            raise RoundFileError(self.problems)
        return request

    def _problem(self, row: int, column: str, message: str, cell: str = "") -> None:
        self.problems.append(CellProblem(self.sheet, row, column, message, cell))

    def _rows(self, names: Sequence[str], sheets: Sheets) -> list[tuple[int, Cells]]:
        """The sheet's non-blank data rows by English column name; bad headers are reported."""
        raw = sheets.get(self.sheet, [])
        if not raw:
            return []
        header: dict[int, str] = {}
        reported: set[int] = set()  # unknown or repeated columns: their cells are not read
        for i, cell in enumerate(raw[0]):
            letter = get_column_letter(i + 1)
            name = "" if cells.is_blank(cell) else str(cell).rsplit("/", 1)[-1].strip()
            if not name:
                continue  # values under it are reported row by row
            if name in header.values():
                self._problem(1, name, "the column appears twice", f"{letter}1")
            elif name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"did you mean {close[0]}?" if close else "expected " + ", ".join(names)
                self._problem(1, letter, f"unknown column {name!r}; {hint}", f"{letter}1")
            else:
                header[i] = name
                continue
            reported.add(i)
        rows = []
        for number, row in enumerate(raw[1:], start=2):
            if all(cells.is_blank(c) for c in row):
                continue
            data: Cells = {}
            for i, cell in enumerate(row):
                at = f"{get_column_letter(i + 1)}{number}"
                if i in header:
                    data[header[i]] = (cell, at)
                elif i not in reported and not cells.is_blank(cell):
                    self._problem(number, get_column_letter(i + 1), "a value under no header", at)
            rows.append((number, data))
        return rows

    def _setting(
        self, request: round_pb2.OptimizeRoundRequest, shape: Layout, number: int, row: Cells
    ) -> None:
        name_cell, where = row.get("field", (None, f"A{number}"))
        value, value_at = row.get("value", (None, f"B{number}"))
        if cells.is_blank(name_cell):
            self._problem(number, "field", "a value without a setting name", where)
            return
        name = str(name_cell).lstrip()  # a label's key keeps any spaces at its end
        setting = _find_setting(shape, name)
        if setting is None:
            close = difflib.get_close_matches(name, [s.name for s in shape.settings], n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self._problem(number, "field", f"unknown setting {name!r}{hint}", where)
            return
        if not setting.is_map and (value is None or value == ""):
            return  # a listed setting left empty, as in the template
        key = name if setting.is_map else setting.name
        first = self.seen.setdefault(key, number)
        if first != number:
            self._problem(number, "field", f"{key} is given twice (first on row {first})", where)
        elif setting.is_map:
            entries = getattr(walk(request, setting.fields[:-1]), setting.field.name)
            value_field = setting.field.message_type.fields_by_name["value"]
            text = "" if value is None else value
            try:
                entries[name[len(setting.name) + 1 :]] = cells.decode(value_field, text)
            except cells.CellError as error:
                self._problem(number, "value", str(error), value_at)
        elif setting.is_message:
            if str(value).strip() == "{}":
                walk(request, setting.fields).SetInParent()
            elif not cells.is_blank(value):
                message = f"expected {{}} (set, all defaults) or nothing, got {value!r}"
                self._problem(number, "value", message, value_at)
        else:
            self._set(request, setting.fields, (value, value_at), number, "value")

    def _element(self, table: Table, number: int, row: Cells) -> Message:
        element = message_factory.GetMessageClass(table.field.message_type)()
        for column in table.columns:
            if column.name in row:
                self._set(element, column.fields, row[column.name], number, column.name)
        return element

    def _set(
        self,
        message: Message,
        fields: Sequence[FieldDescriptor],
        cell: tuple[cells.Raw, str],
        number: int,
        column: str,
    ) -> None:
        """One cell into its field; an empty cell leaves the field unset (blank text is text)."""
        raw, at = cell
        target = fields[-1]
        is_text = target.type == FieldDescriptor.TYPE_STRING and not target.is_repeated
        if raw is None or raw == "" or (cells.is_blank(raw) and not is_text):
            return
        container = walk(message, fields[:-1])
        oneof = target.containing_oneof
        if oneof is not None and container.WhichOneof(oneof.name) not in (None, target.name):
            others = " or ".join(f.name for f in oneof.fields)
            self._problem(number, column, f"give {others}, not both", at)
            return
        try:
            if target.is_repeated:
                getattr(container, target.name).extend(cells.decode_list(target, raw))
            elif target.message_type is not None:
                value = cells.decode(target, raw)
                assert isinstance(value, Message)
                getattr(container, target.name).CopyFrom(value)
            else:
                setattr(container, target.name, cells.decode(target, raw))
        except cells.CellError as error:
            self._problem(number, column, str(error), at)
        except (ValueError, TypeError) as error:  # a value the field's type cannot hold
            self._problem(number, column, f"not a valid {target.name}: {error}", at)

    def _attach(
        self, table: Table, rows: list[tuple[int, Cells]], parents: list[tuple[Message, int]]
    ) -> None:
        """Each child row to the parent its key names; an implied parent is made by its rows."""
        assert table.parent is not None
        index: dict[tuple[str, ...], list[tuple[Message, int]]] = collections.defaultdict(list)
        for parent, number in parents:
            index[tuple(str(walk(parent, c.fields)) for c in table.key)].append((parent, number))
        for number, row in rows:
            key = tuple(_text(row.get(c.name)) for c in table.key)
            found = index.get(key, [])
            if table.implied and not found:
                parent = message_factory.GetMessageClass(table.parent.field.message_type)()
                for column, text in zip(table.key, key, strict=True):
                    setattr(walk(parent, column.fields[:-1]), column.field.name, text)
                found = index[key] = [(parent, number)]
                parents.append(found[0])
            at = row.get(table.key[0].name, (None, ""))[1]
            names = " and ".join(f"{c.name} {k!r}" for c, k in zip(table.key, key, strict=True))
            if not found:
                message = f"no row of {table.parent.name} has {names}"
                self._problem(number, table.key[0].name, message, at)
            elif len(found) > 1:
                lines = ", ".join(str(n) for _, n in found)
                message = f"{names} is on rows {lines} of {table.parent.name}; rename one"
                self._problem(number, table.key[0].name, message, at)
            elif not (table.implied and _blank(row, table)):  # else a parent without children
                child = self._element(table, number, row)
                getattr(found[0][0], table.field.name).append(child)


def _find_setting(shape: Layout, name: str) -> Setting | None:
    for setting in shape.settings:
        if setting.name == name.rstrip() and not setting.is_map:
            return setting
    for setting in shape.settings:
        if setting.is_map and name.startswith(f"{setting.name}."):
            return setting
    return None


def _text(cell: tuple[cells.Raw, str] | None) -> str:
    if cell is None or cell[0] is None:
        return ""
    return str(cells.decode(_TEXT, cell[0]))


def _blank(row: Cells, table: Table) -> bool:
    return all(cells.is_blank(row[c.name][0]) for c in table.columns if c.name in row)
