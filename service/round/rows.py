"""A round as rows of cells, sheet by sheet, header first: what the workbook and the CSV files
hold. parse.py reads the same rows back into the request.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.round import cells
from service.round.sheets import Column, Layout, Table, label, layout, present, walk
from venture.v1 import round_pb2

Row = list[cells.Cell]
SETTING_COLUMNS = ("field", "value", "note")
SETTING_HEADERS = ("设置项 / field", "值 / value", "说明 / note")


def request_rows(request: round_pb2.OptimizeRoundRequest) -> dict[str, list[Row]]:
    """Each sheet's rows in workbook order, "settings" first; raises ValueError for a request
    no sheet can hold (an element with only empty cells, two parents of child rows sharing a
    key)."""
    shape = layout()
    request = _scores_listed(request)
    sheets = {"settings": _settings(request, shape)}
    elements: dict[str, list[Message]] = {}
    for table in shape.tables:
        if table.parent is None:
            elements[table.name] = list(getattr(walk(request, table.prefix), table.field.name))
            if not table.hidden:
                sheets[table.name] = _root_rows(table, elements[table.name])
        else:
            sheets[table.name] = _child_rows(table, elements[table.parent.name])
    return sheets


def _scores_listed(request: round_pb2.OptimizeRoundRequest) -> round_pb2.OptimizeRoundRequest:
    """The request with every score sheet in the long form (the files' one): a sheet's values
    become scores of the criteria in order. The request itself is left as it is."""
    if not any(sheet.values for sheet in request.sheets):
        return request
    listed = round_pb2.OptimizeRoundRequest()
    listed.CopyFrom(request)
    criterion_ids = [c.criterion_id for c in request.criteria]
    for index, sheet in enumerate(listed.sheets):
        if not sheet.values:
            continue
        if sheet.scores or len(sheet.values) != len(criterion_ids):
            also = " and scores as well" if sheet.scores else ""
            raise ValueError(
                f"sheets[{index}].values: {len(sheet.values)} values for {len(criterion_ids)} "
                f"criteria{also}; no row of the scores sheet can hold them"
            )
        for criterion_id, value in zip(criterion_ids, sheet.values, strict=True):
            sheet.scores.add(criterion_id=criterion_id, value=value)
        del sheet.values[:]
    return listed


def _settings(request: round_pb2.OptimizeRoundRequest, shape: Layout) -> list[Row]:
    """Every setting, empty when unset, so that the sheet lists what can be set."""
    rows: list[Row] = [list(SETTING_HEADERS)]
    for setting in shape.settings:
        container = walk(request, setting.fields[:-1])
        if setting.is_map:
            entries = getattr(container, setting.field.name)
            value_field = setting.field.message_type.fields_by_name["value"]
            for key in sorted(entries):
                rows.append([f"{setting.name}.{key}", cells.encode(value_field, entries[key])])
        elif setting.is_message:
            # A message set with only defaults has no other row to say that it is set.
            if present(request, setting.fields) and not walk(request, setting.fields).ListFields():
                rows.append([setting.name, "{}", label(setting.field) or None])
        else:
            value = _cell(container, setting.field) if _is_set(container, setting.field) else None
            rows.append([setting.name, value, _note(setting.field)])
    return rows


def _root_rows(table: Table, elements: Sequence[Message]) -> list[Row]:
    rows: list[Row] = [[c.header for c in table.headers]]
    for index, element in enumerate(elements):
        rows.append(_checked(table, index, element_cells(element, table.columns)))
    return rows


def _child_rows(table: Table, parents: Sequence[Message]) -> list[Row]:
    """One row per child, after its parent's key; an implied parent without children gets a row
    of its own."""
    keys = [tuple(element_cells(p, table.key)) for p in parents]
    with_children = {k for k, p in zip(keys, parents, strict=True) if getattr(p, table.field.name)}
    for key, count in collections.Counter(keys).items():
        if count > 1 and (table.implied or key in with_children):
            names = ", ".join(c.name for c in table.key)
            raise ValueError(f"{table.path}: two parents have {names} {key}; rows cannot tell")
    rows: list[Row] = [[c.header for c in table.headers]]
    for index, (parent, key) in enumerate(zip(parents, keys, strict=True)):
        children = getattr(parent, table.field.name)
        if table.implied and not children:
            rows.append(_checked(table, index, [*key, *[None] * len(table.columns)]))
        for child in children:
            rows.append(_checked(table, index, [*key, *element_cells(child, table.columns)]))
    return rows


def _checked(table: Table, index: int, row: Row) -> Row:
    if all(cells.is_blank(c) for c in row):
        raise ValueError(f"{table.path}[{index}] has only empty fields; it would read as no row")
    return row


def element_cells(element: Message, columns: Iterable[Column]) -> Row:
    """The element's cells: numbers and bools always (0 is a value), an unset optional field,
    an unset nested message, an empty text and an enum's zero as empty cells."""
    row: Row = []
    for column in columns:
        container = walk(element, column.fields[:-1])
        field = column.field
        unset = field.has_presence and not container.HasField(field.name)
        if unset or not present(element, column.fields[:-1]):
            row.append(None)
        elif field.enum_type is not None and not field.is_repeated and not field.has_presence:
            row.append(_cell(container, field) if getattr(container, field.name) else None)
        else:
            row.append(_cell(container, field))
    return row


def _cell(container: Message, field: FieldDescriptor) -> cells.Cell:
    value = getattr(container, field.name)
    if field.is_repeated:
        return cells.encode_list(field, list(value)) or None
    return None if value == "" else cells.encode(field, value)


def _is_set(container: Message, field: FieldDescriptor) -> bool:
    if field.has_presence:
        return container.HasField(field.name)
    # ListFields counts a non-presence scalar as set when it is not its default, -0.0 included.
    return any(f is field for f, _ in container.ListFields())


def _note(field: FieldDescriptor) -> str | None:
    """The setting's Chinese label and what it takes."""
    hint = ""
    if field.enum_type is not None:
        prefix = field.enum_type.values[0].name.removesuffix("UNSPECIFIED")
        hint = ", ".join(v.name.removeprefix(prefix) for v in field.enum_type.values[1:])
    elif field.type == FieldDescriptor.TYPE_BOOL:
        hint = "TRUE / FALSE"
    elif field.message_type is not None and field.message_type.name == "Duration":
        hint = "如 e.g. 1.5s"
    return " — ".join(t for t in (label(field), hint) if t) or None
