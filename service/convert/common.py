"""Conversion shared by every RPC: request options, labels, summaries, violations."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar

from google.protobuf.duration_pb2 import Duration

from matching.status import SolveStatus
from scoring.errors import FieldViolation, InvalidProblem, Violations
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
