"""Errors of the scoring engine, each naming the field path and the value at fault.

ScoringError                 base of everything this package raises on purpose
└── InvalidProblem           the input breaks a rule; carries every FieldViolation found
    └── Unsatisfiable        well-formed, but its hard rules cannot all hold (demand above
                             supply); the violations carry the counts that make it impossible

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


MAX_VIOLATIONS = 100
"""At most this many violations are listed; `truncated` says when more were found."""


class InvalidProblem(ScoringError):
    """The problem breaks one or more rules; `violations` lists every one found (up to
    MAX_VIOLATIONS; `truncated` is true when there were more)."""

    def __init__(self, violations: Iterable[FieldViolation], truncated: bool = False) -> None:
        self.violations = tuple(violations)
        self.truncated = truncated
        if not self.violations:
            raise ValueError("InvalidProblem needs at least one violation")
        first = self.violations[0]
        more = len(self.violations) - 1
        suffix = f" (and {more}{'+' if truncated else ''} more)" if more else ""
        super().__init__(f"{first.field}: {first.description} (got {first.value}){suffix}")

    def under(self, prefix: str) -> InvalidProblem:
        """The same violations with paths relative to a parent object."""
        return InvalidProblem((v.under(prefix) for v in self.violations), self.truncated)


class Unsatisfiable(InvalidProblem):
    """Every field is valid on its own, but the hard rules cannot all hold together (needs ask
    for more organizations than the candidates can supply, with no soft mode). The service
    answers FAILED_PRECONDITION, not INVALID_ARGUMENT: the caller must change the rules or the
    data, not fix a typo. Each violation's description carries the counts."""

    def under(self, prefix: str) -> Unsatisfiable:
        return Unsatisfiable((v.under(prefix) for v in self.violations), self.truncated)


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
    """Collects violations so that all of them are reported together, not just the first.

    Listing stops at MAX_VIOLATIONS (a request with a million bad scores must not build a
    million messages); `truncated` then records that there were more.
    """

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []
        self.truncated = False

    def __iter__(self) -> Iterator[FieldViolation]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return len(self._items) >= MAX_VIOLATIONS

    def add(self, field: str, value: object, description: str) -> None:
        self.add_shown(field, show(value), description)

    def add_shown(self, field: str, shown: str, description: str) -> None:
        """Record a violation whose value is already rendered (a list of ids, "[]")."""
        if self.full:
            self.truncated = True
            return
        self._items.append(FieldViolation(field, shown, description))

    def require(self, ok: bool, field: str, value: object, description: str) -> None:
        """Record a violation unless `ok`."""
        if not ok:
            self.add(field, value, description)

    def extend(self, error: InvalidProblem, prefix: str = "") -> None:
        """Record an error's violations, seen from `prefix` (e.g. "criteria[2]")."""
        for violation in error.violations:
            v = violation.under(prefix) if prefix else violation
            self.add_shown(v.field, v.value, v.description)
        self.truncated |= error.truncated

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidProblem(self._items, self.truncated)
