"""Errors of the scoring engine, each naming the field path and the value at fault.

ScoringError                 base of everything this package raises on purpose
└── InvalidProblem           the input breaks a rule; carries every FieldViolation found

Paths use the request's own field names and list positions ("sheets[3].scores[1].value"),
so the service can hand them to the caller unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field: where it is, what was given, and how to fix it."""

    field: str
    value: str
    description: str

    def under(self, prefix: str) -> FieldViolation:
        """The same violation seen from a parent object: "weight" under "criteria[2]"."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return FieldViolation(field, self.value, self.description)


class ScoringError(Exception):
    """Base of the errors the scoring engine raises on purpose."""


class InvalidProblem(ScoringError):
    """The problem breaks one or more rules; `violations` lists every one found."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations = tuple(violations)
        if not self.violations:
            raise ValueError("InvalidProblem needs at least one violation")
        first = self.violations[0]
        more = len(self.violations) - 1
        suffix = f" (and {more} more)" if more else ""
        super().__init__(f"{first.field}: {first.description} (got {first.value}){suffix}")

    def under(self, prefix: str) -> InvalidProblem:
        """The same violations with paths relative to a parent object."""
        return InvalidProblem(v.under(prefix) for v in self.violations)


def show(value: object) -> str:
    """Render an offending value the way a caller would type it: 'NaN', '"p1"', '-3'."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


class Violations:
    """Collects violations so that all of them are reported together, not just the first."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def __iter__(self) -> Iterator[FieldViolation]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, field: str, value: object, description: str) -> None:
        self._items.append(FieldViolation(field, show(value), description))

    def require(self, ok: bool, field: str, value: object, description: str) -> None:
        """Record a violation unless `ok`."""
        if not ok:
            self.add(field, value, description)

    def extend(self, violations: Iterable[FieldViolation], prefix: str = "") -> None:
        self._items.extend(v.under(prefix) if prefix else v for v in violations)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidProblem(self._items)
