"""One field's value as one cell and back, exactly: numbers that a spreadsheet would round are
written as text, enums by name, lists in one cell, times in their proto3 JSON form.

A cell is what a reader hands over: text from a CSV file, or a number, bool, date or text from
a workbook. Reading raises CellError with what was expected; the caller adds where.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence

from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor

Cell = str | int | float | bool | None
Raw = Cell | dt.datetime | dt.timedelta

# Spreadsheets keep 15 significant digits of an integer; larger ones are written as text.
_EXACT_INT = 10**15
_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOATS = {FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT}
_TRUE = {"true", "t", "yes", "y", "1", "是", "对"}
_FALSE = {"false", "f", "no", "n", "0", "否", "不"}
_SEPARATOR = re.compile("[;；]")
# Times typed into a workbook carry no zone; rounds are run in China.
_BEIJING = dt.timezone(dt.timedelta(hours=8))


class CellError(ValueError):
    """A cell that cannot be the field's value; the message says what was expected."""


def is_blank(raw: Raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def text(cell: Cell) -> str:
    """The cell as CSV text."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < _EXACT_INT:
        return str(int(cell))  # 13, not 13.0 (encode keeps -0.0 as text)
    return cell if isinstance(cell, str) else repr(cell)


def encode(field: FieldDescriptor, value: object) -> Cell:
    """One value of the field as a cell that reads back as exactly that value."""
    if field.message_type is not None:
        assert isinstance(value, duration_pb2.Duration | timestamp_pb2.Timestamp)
        return value.ToJsonString()
    if field.enum_type is not None:
        assert isinstance(value, int)
        named = field.enum_type.values_by_number.get(value)
        return named.name if named is not None else value
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _EXACT_INT else str(value)
    assert isinstance(value, float)
    # A workbook stores 16 significant digits; -0.0, inf and nan are not numbers there at all.
    if math.isfinite(value) and float(f"{value:.16g}") == value and math.copysign(1, value) > 0:
        return value
    return repr(value)


def encode_list(field: FieldDescriptor, values: Sequence[object]) -> str:
    """A list in one cell: "a; b; c", or a JSON array when an item is empty, has spaces at
    its ends or holds a separator (so that every list reads back as itself)."""
    if field.type != FieldDescriptor.TYPE_STRING:
        return "; ".join(text(encode(field, v)) for v in values)
    items = [str(v) for v in values]
    plain = all(s and s == s.strip() and not _SEPARATOR.search(s) for s in items)
    if plain and not (items and items[0].startswith("[")):
        return "; ".join(items)
    return json.dumps(items, ensure_ascii=False)


def decode_list(field: FieldDescriptor, raw: Raw) -> list[object]:
    """The values of a list cell (see encode_list); empty items between separators are dropped."""
    if not isinstance(raw, str):
        return [decode(field, raw)]
    stripped = raw.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise CellError(f"a list starting with '[' must be a JSON array: {error}") from None
        if not isinstance(items, list):
            raise CellError("a list starting with '[' must be a JSON array")
        if field.type == FieldDescriptor.TYPE_STRING and not all(isinstance(i, str) for i in items):
            raise CellError('expected a JSON array of text, like ["a", "b"]')
        return [decode(field, i) for i in items]
    parts = [part.strip() for part in _SEPARATOR.split(raw)]
    return [decode(field, part) for part in parts if part]


def decode(field: FieldDescriptor, raw: Raw) -> object:
    """The value of a single (non-list) field from a non-blank cell."""
    if field.message_type is not None:
        return _decode_time(field.message_type.full_name, raw)
    if field.type == FieldDescriptor.TYPE_STRING:
        return _decode_text(raw)
    if isinstance(raw, dt.datetime | dt.timedelta):
        raise CellError(f"expected {_expected(field)}, got a date or time")
    if field.enum_type is not None:
        return _decode_enum(field, raw)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return _decode_bool(raw)
    if field.cpp_type in _FLOATS:
        return _decode_float(raw)
    return _decode_int(field, raw)


def _expected(field: FieldDescriptor) -> str:
    if field.enum_type is not None:
        return "one of " + ", ".join(v.name for v in field.enum_type.values)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "TRUE or FALSE"
    if field.cpp_type in _FLOATS:
        return "a number (数字)"
    return "a whole number (整数)"


def _decode_text(raw: Raw) -> str:
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # an id typed as a number: 101, not 101.0
    if isinstance(raw, dt.datetime):
        return raw.isoformat()
    return "" if raw is None else str(raw)


def _decode_bool(raw: Raw) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise CellError(f"expected TRUE or FALSE (是/否), got {raw!r}")


def _decode_enum(field: FieldDescriptor, raw: Raw) -> int:
    enum = field.enum_type
    assert enum is not None
    word = str(raw).strip()
    if (isinstance(raw, int) and not isinstance(raw, bool)) or re.fullmatch(r"-?\d+", word):
        number = int(word)  # an open enum keeps numbers it does not name
        low, high = _RANGES[FieldDescriptor.CPPTYPE_INT32]
        if low <= number <= high:
            return number
    prefix = enum.values[0].name.removesuffix("UNSPECIFIED")
    for name in (word, word.upper(), prefix + word.upper()):
        if name in enum.values_by_name:
            number = enum.values_by_name[name].number
            assert isinstance(number, int)
            return number
    raise CellError(f"unknown value {word!r}; expected {_expected(field)}")


def _decode_float(raw: Raw) -> float:
    if isinstance(raw, bool):
        raise CellError(f"expected a number (数字), got {raw}")
    if isinstance(raw, int | float):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        raise CellError(f"expected a number (数字), got {raw!r}") from None


def _decode_int(field: FieldDescriptor, raw: Raw) -> int:
    if isinstance(raw, bool):
        raise CellError(f"expected a whole number (整数), got {raw}")
    if isinstance(raw, float):
        if not raw.is_integer() or abs(raw) > 2**53:
            raise CellError(f"expected a whole number (整数), got {raw!r}")
        number = int(raw)
    elif isinstance(raw, int):
        number = raw
    else:
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise CellError(f"expected a whole number (整数), got {raw!r}") from None
    low, high = _RANGES[field.cpp_type]
    if not low <= number <= high:
        raise CellError(f"{number} is out of range; expected {low} to {high}")
    return number


def _decode_time(full_name: str, raw: Raw) -> duration_pb2.Duration | timestamp_pb2.Timestamp:
    if full_name == "google.protobuf.Duration":
        duration = duration_pb2.Duration()
        if isinstance(raw, dt.timedelta):
            duration.FromTimedelta(raw)
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            duration.FromNanoseconds(round(raw * 1e9))
        else:
            try:
                duration.FromJsonString(str(raw).strip())
            except ValueError:
                raise CellError(f"expected a duration like 1.5s, got {raw!r}") from None
        return duration
    stamp = timestamp_pb2.Timestamp()
    if isinstance(raw, dt.datetime):
        stamp.FromDatetime(raw if raw.tzinfo else raw.replace(tzinfo=_BEIJING))
        return stamp
    try:
        stamp.FromJsonString(str(raw).strip())
    except ValueError:
        raise CellError(
            f"expected a time like 2026-03-01T09:00:00+08:00 or a date cell, got {raw!r}"
        ) from None
    return stamp
