"""Conversion shared by every RPC: request options, labels, summaries, violations, and the
stand-ins that let a request that did not convert still be cross-checked."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar

from google.protobuf.duration_pb2 import Duration

from matching.status import SolveStatus
from scoring.errors import FieldViolation, InvalidProblem, Unsatisfiable, Violations
from venture.v1 import common_pb2

STATUS_PB: dict[SolveStatus, common_pb2.SolveStatus.ValueType] = {
    SolveStatus.OPTIMAL: common_pb2.SOLVE_STATUS_OPTIMAL,
    SolveStatus.FEASIBLE: common_pb2.SOLVE_STATUS_FEASIBLE,
    SolveStatus.INFEASIBLE: common_pb2.SOLVE_STATUS_INFEASIBLE,
    SolveStatus.NO_SOLUTION_FOUND: common_pb2.SOLVE_STATUS_NO_SOLUTION_FOUND,
}

T = TypeVar("T")
P = ParamSpec("P")
K = TypeVar("K", bound=int)
E = TypeVar("E", bound=enum.Enum)
DEFAULT_TOP_K = 5


@dataclass(frozen=True, slots=True)
class Options:
    """RequestOptions with the server's defaults applied."""

    time_limit_s: float | None
    validate_only: bool
    top_k: int
    seed: int
    exclude_timings: bool


def options_from_pb(pb: common_pb2.RequestOptions, violations: Violations) -> Options:
    """Apply defaults; record negative values as violations under "options"."""
    limit = pb.time_limit.seconds + pb.time_limit.nanos / 1e9
    violations.require(
        limit >= 0, "options.time_limit", _duration_text(pb.time_limit), "must not be negative"
    )
    violations.require(pb.top_k >= 0, "options.top_k", pb.top_k, "must not be negative")
    return Options(
        time_limit_s=limit if limit > 0 else None,
        validate_only=pb.validate_only,
        top_k=pb.top_k or DEFAULT_TOP_K,
        seed=pb.seed,
        exclude_timings=pb.exclude_timings,
    )


def _duration_text(d: Duration) -> str:
    return f"{d.seconds + d.nanos / 1e9}s"


class _Labeled(Protocol):
    @property
    def labels(self) -> Mapping[str, str]: ...


def echo_labels(request: _Labeled, response: _Labeled) -> None:
    """Copy the request's labels to the response in sorted order (stable bytes)."""
    target = response.labels
    for key in sorted(request.labels):
        target[key] = request.labels[key]  # type: ignore[index]


def violations_to_pb(violations: Sequence[FieldViolation]) -> list[common_pb2.FieldViolation]:
    return [
        common_pb2.FieldViolation(field=v.field, description=v.description, value=v.value)
        for v in violations
    ]


def build(
    violations: Violations,
    prefix: str,
    factory: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | None:
    """Call `factory(*args, **kwargs)`; its validation errors are recorded under `prefix`."""
    try:
        return factory(*args, **kwargs)
    except InvalidProblem as error:
        violations.extend(error, prefix)
        return None


def all_built(items: Iterable[T | None]) -> tuple[T, ...] | None:
    """The built items, or None when any failed to build (its violations are recorded)."""
    built = tuple(items)
    if any(item is None for item in built):
        return None
    return tuple(item for item in built if item is not None)


def enum_from_pb(
    value: K,
    mapping: Mapping[K, E],
    default: E,
    field: str,
    violations: Violations,
) -> E:
    """Map a proto enum number (0 = unspecified = the default); unknown numbers are violations."""
    if value == 0:
        return default
    if value not in mapping:
        violations.add(field, value, f"unknown enum value; expected one of {sorted(mapping)}")
        return default
    return mapping[value]


def duration_pb(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def summary_pb(
    status: int,
    timings: Sequence[tuple[str, float]],
    engine: str,
    exclude_timings: bool,
    objective: float = 0.0,
    best_bound: float = 0.0,
    relative_gap: float = 0.0,
) -> common_pb2.SolveSummary:
    summary = common_pb2.SolveSummary(
        status=status,  # type: ignore[arg-type]
        objective=objective,
        best_bound=best_bound,
        relative_gap=relative_gap,
        engine=engine,
    )
    if not exclude_timings:
        for stage, seconds in timings:
            summary.timings.add(stage=stage, duration=duration_pb(seconds))
    return summary


# ---------------------------------------------------------------------------------------------
# Cross-references of a request that did not convert
# ---------------------------------------------------------------------------------------------

UNNAMED = "\x00unnamed "
"""Prefix of the id a stand-in gets when its own is empty: it matches nothing the caller sent."""


class StandIns:
    """The items of a request that did not convert, each replaced in its problem by a stand-in
    at its own position (its ids as given, values no check objects to), and which of that
    problem's cross-reference violations they leave standing. Left out is what is said

    - at a field already reported (by conversion);
    - of a stand-in (at or under its path), but at the ids it kept, which are the caller's own;
    - at a reference to a list one of whose items has no id (an id nobody has may be the one
      it lacks);
    - at a field whose check a stand-in's value would distort (`unjudged`).
    """

    def __init__(self, references: Mapping[str, str]) -> None:
        """`references`: a list's path ("rules.pools") -> regex of the fields that name its
        items by id."""
        self._references = {path: re.compile(regex) for path, regex in references.items()}
        self._paths: list[str] = []
        self._kept: set[str] = set()
        self._unnamed: set[str] = set()
        self._unjudged: list[re.Pattern[str]] = []

    def add(self, path: str) -> None:
        """Stand in for the item at `path` ("rules.quotas[2]")."""
        self._paths.append(path)

    def named(self, path: str, id_field: str, given: str) -> str:
        """Stand in for the item at `path`; the id it gets (`given`, else a placeholder)."""
        self.add(path)
        if not given:
            self._unnamed.add(path.rpartition("[")[0])
        return self.refer(f"{path}.{id_field}", given)

    def refer(self, field: str, given: str) -> str:
        """A stand-in's `field` that names an item by id: checked as given, if given."""
        if not given:
            return f"{UNNAMED}{field}"
        self.keep(field)
        return given

    def keep(self, field: str) -> None:
        """Check a stand-in's `field` as any other: it holds the caller's own value."""
        self._kept.add(field)

    def unjudged(self, regex: str) -> None:
        """Leave out what is said at the fields matching `regex`."""
        self._unjudged.append(re.compile(regex))

    def cross_check(
        self, validate: Callable[[T], None], problem: T, violations: Violations
    ) -> None:
        """Add to `violations` what `validate` finds in `problem` that the stand-ins leave
        standing, after the fields' own violations."""
        try:
            validate(problem)
        except Unsatisfiable:
            # Rules that cannot all hold are asked only of a problem free of input errors,
            # which this one is not; and the stand-ins' counts would decide the answer.
            return
        except InvalidProblem as error:
            reported = {v.field for v in violations}
            for v in error.violations:
                if v.field not in reported and not self._left_out(v.field):
                    violations.add_shown(v.field, v.value, v.description)

    def _left_out(self, field: str) -> bool:
        if any(regex.fullmatch(field) for regex in self._unjudged):
            return True
        unnamed = (self._references[path] for path in self._unnamed if path in self._references)
        if any(regex.fullmatch(field) for regex in unnamed):
            return True
        return field not in self._kept and any(_under(field, path) for path in self._paths)


def _under(field: str, path: str) -> bool:
    return field == path or field.startswith((f"{path}.", f"{path}["))
