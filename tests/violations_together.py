"""What the tests of "every mistake in one answer" share, RPC by RPC: how a refusal reads,
what conversion alone says, and what one answer must hold when a wrong reference comes beside
a field that does not convert."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from google.protobuf.message import Message
from hypothesis import HealthCheck, settings

from scoring.errors import InvalidProblem, Unsatisfiable, Violations
from service.config import Limits

M = TypeVar("M", bound=Message)
Said = list[tuple[str, str, str]]
Change = Callable[[M, int], None]

SETTINGS = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class _Violation(Protocol):
    """A domain FieldViolation, or the response's validation error."""

    @property
    def field(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def description(self) -> str: ...


def said(violations: Iterable[_Violation]) -> Said:
    return [(v.field, v.value, v.description) for v in violations]


def refused(handler: Callable[[M, Limits], object], request: M) -> Said:
    """What the handler refuses the request with (never rules that cannot all hold)."""
    try:
        handler(request, Limits())
    except InvalidProblem as error:
        assert not isinstance(error, Unsatisfiable)
        return said(error.violations)
    raise AssertionError("expected the request to be refused")


def converted_fields(convert: Callable[[M, Violations], object], request: M) -> Said:
    """What conversion alone reports (before any cross-reference check); it must fail."""
    found = Violations()
    assert convert(request, found) is None
    return said(found)


def with_reference(fields: Said, references: Said) -> Said:
    """The broken fields' violations, then what the wrong reference alone brought, but at the
    fields already said."""
    named = {field for field, _, _ in fields}
    return fields + [v for v in references if v[0] not in named]


def check_beside(
    refuse: Callable[[M], Said],
    convert: Callable[[M, Violations], object],
    request: M,
    broken: Callable[[M, int], None],
    wrong: Callable[[M, int], None],
    k: int,
    j: int,
) -> None:
    """A valid `request` with a wrong reference (`wrong`) and a broken field (`broken`) is
    refused with the field's violations and exactly what the reference alone brings."""
    alone = type(request)()
    alone.CopyFrom(request)
    wrong(alone, j)
    references = refuse(alone)  # converts, and fails its cross-references
    broken(request, k)  # the request's own items only: the wrong reference may add some
    wrong(request, j)
    assert refuse(request) == with_reference(converted_fields(convert, request), references)
